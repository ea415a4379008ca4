/**
 * The whole platform on one machine: the local ECS stand-in running browser nodes as processes,
 * and the edge in workerd (Miniflare, the engine of `wrangler dev`: see edge-runtime.ts), wired
 * together and kept off the network. `npm run dev` and the end-to-end tests both start it through here.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NodeEnv, TASK_EVENTS_PATH } from "../../edge/node-protocol.ts";
import { generateSecrets, loadOrCreateSecrets, type DevSecrets } from "./dev-secrets.ts";
import { startEcsStandIn, type EcsStandIn } from "./ecs-stand-in.ts";
import { freePort } from "./tasks.ts";
import { ensureDevProject } from "./dev-project.ts";
import { startEdge, type Edge, type EdgeLogLevel } from "./edge-runtime.ts";
import { PlatformError } from "./platform-error.ts";

export { PlatformError };

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const DEFAULT_CHROMIUM = "/usr/lib/chromium/chromium";

export interface LocalPlatformOptions {
  /** Port of the edge on 127.0.0.1; 0 picks a free one. */
  edgePort?: number;
  /** Port of the ECS stand-in on 127.0.0.1; 0 picks a free one. */
  ecsPort?: number;
  /** Where workerd keeps Durable Objects, KV and R2; false keeps nothing. */
  persist?: string | false;
  /** Where the generated secrets are kept; absent means fresh secrets for this run only. */
  secretsFile?: string;
  /** A preset API key for the dev project (otherwise one is generated). */
  apiKey?: string;
  /** Where the dev project's id and API key are kept between runs; absent means a new project each run. */
  projectFile?: string;
  /** Extra environment for every browser node (the task's own overrides win). */
  nodeEnv?: Record<string, string>;
  /** Extra or overridden edge vars (wrangler.toml [vars]). */
  vars?: Record<string, string>;
  /** WARM_POOL_SIZE (docs/pool.md): members kept warm; 0 turns the pool off. Default: wrangler.toml's (2), or `vars`'. */
  warmPoolSize?: number;
  /** A task's node starts this long after RunTask, like Fargate (default: WALLCRAWLER_TASK_START_DELAY_MS, else 0). */
  taskStartDelayMs?: number;
  /** The dev project's concurrency limit. */
  concurrency?: number;
  /** Browser-node output: a line sink, or nothing. */
  onNodeOutput?: (line: string) => void;
  /** What the edge's console and workerd show; "info" adds a line per request. */
  logLevel?: EdgeLogLevel;
}

export interface LocalPlatform {
  edgeUrl: string;
  apiKey: string;
  projectId: string;
  secrets: DevSecrets;
  standIn: EcsStandIn;
  /**
   * The edge Worker's own socket in workerd, past the local front door (edge-front.ts) that clients
   * and the nodes' HTTP requests go through; the nodes' WebSockets dial it. Benchmarks measure the
   * layer apart with it (bench/cdp-edge).
   */
  workerdUrl?: string;
  stop(): Promise<void>;
}

/**
 * Starts the platform. A port it picks itself (freePort) is free when picked, not held: another
 * process's connection may take it before the edge listens there (seen in CI, from Node and from
 * workerd), and then the platform starts again on new ports.
 */
export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (attempt === 3 || options.edgePort || !portTaken(error)) throw error;
    }
  }
}

/** A listen that failed because the port was taken: Node's code (the front door), or Miniflare's (workerd's sockets). */
export const portTaken = (error: unknown) => ["EADDRINUSE", "ERR_ADDRESS_IN_USE"].includes((error as { code?: unknown })?.code as string);

async function startOnce(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const chromium = options.nodeEnv?.[NodeEnv.chromiumPath] ?? process.env[NodeEnv.chromiumPath] ?? DEFAULT_CHROMIUM;
  if (!existsSync(chromium))
    throw new PlatformError(
      `Chromium not found at ${chromium}: install it with "sudo apt-get install -y chromium" (or set ${NodeEnv.chromiumPath}).`,
    );
  // Keep wrangler and Miniflare off the network: no metrics, no Cloudflare lookups, no banner.
  process.env.WRANGLER_SEND_METRICS = "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  process.env.WRANGLER_HIDE_BANNER = "true";

  // Nodes run from the same bundle the image carries, rebuilt now so it is never stale (~0.3 s).
  execFileSync(process.execPath, [`${repoRoot}browser-node/build.mjs`], { stdio: "inherit" });

  const secrets = options.secretsFile ? await loadOrCreateSecrets(options.secretsFile) : await generateSecrets();
  const edgePort = options.edgePort || (await freePort());
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  // Nodes' WebSockets (links, CDP channels) go to workerd itself, past the front door, which only
  // HTTP's keep-alive needs: one relay less on every CDP message (docs/node-link.md).
  const workerdPort = await freePort();
  const region = options.vars?.ECS_REGION ?? "us-east-1";

  const standIn = await startEcsStandIn({
    port: options.ecsPort ?? 0,
    region,
    credentials: { accessKeyId: secrets.AWS_ACCESS_KEY_ID, secretAccessKey: secrets.AWS_SECRET_ACCESS_KEY },
    runner: "process",
    taskEvents: { url: `${edgeUrl}${TASK_EVENTS_PATH}`, secret: secrets.TASK_EVENTS_SECRET },
    nodeEnv: { [NodeEnv.chromiumPath]: chromium, [NodeEnv.edgeSocketUrl]: `http://127.0.0.1:${workerdPort}`, ...options.nodeEnv },
    startDelayMs: options.taskStartDelayMs,
    onOutput: options.onNodeOutput ? (_task, line) => options.onNodeOutput!(line) : () => {},
  });

  const vars: Record<string, string> = {
    ECS_REGION: region,
    ECS_ENDPOINT: standIn.url,
    EC2_ENDPOINT: standIn.url,
    ECS_SUBNETS: "subnet-local",
    ECS_SECURITY_GROUPS: "sg-local",
    EDGE_PUBLIC_URL: edgeUrl,
    CONNECT_SCHEME: "ws",
    ...(options.warmPoolSize === undefined ? {} : { WARM_POOL_SIZE: String(options.warmPoolSize) }),
    ...options.vars,
  };
  let edge: Edge;
  try {
    edge = await startEdge({
      repoRoot,
      host: "127.0.0.1",
      port: edgePort,
      workerdPort,
      bindings: { ...secrets, ...vars },
      persist: options.persist ?? false,
      logLevel: options.logLevel ?? "warn",
    });
  } catch (error) {
    await standIn.close();
    throw error;
  }

  const stop = async () => {
    // Nodes first, while the edge is still there to hear their exit reports.
    await standIn.close();
    await edge.dispose();
  };
  try {
    // Miniflare runs no cron by itself: one run fills the warm pool now, whose alarm then keeps it.
    await edge.scheduled();
    const { apiKey, projectId } = await ensureDevProject(edgeUrl, secrets.ADMIN_TOKEN, {
      apiKey: options.apiKey,
      concurrency: options.concurrency,
      projectFile: options.projectFile,
    });
    return { edgeUrl, apiKey, projectId, secrets, standIn, workerdUrl: edge.workerdUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
