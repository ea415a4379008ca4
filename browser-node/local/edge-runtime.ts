/**
 * The edge in workerd for the local platform: bundled from edge/index.ts as wrangler bundles it,
 * configured from wrangler.toml by wrangler, run by Miniflare (the engine under `wrangler dev`),
 * and reached through edge-front.ts on the edge Worker's own socket, HTTP and WebSockets alike.
 * Not through Miniflare's entry Worker: behind it a create's answer reached clients in two parts,
 * its body 20-50 ms after its headers (measured: warm creates 59-123 ms through it, 46-77 ms
 * without), and its request log and error pages repeat what the edge's own middleware does.
 *
 * Not through wrangler's dev server (`unstable_startWorker`): that puts a proxy Worker, in a
 * second workerd, in front of the edge. The proxy pools its connections to the edge and both
 * sides drop one after 5 s idle (kj's defaults), so a request sent on a pooled connection at that
 * moment is lost, and a POST then answers `503 Your worker restarted mid-request` though nothing
 * restarted (cloudflare/workers-sdk#14641). Ten sessions at a time lost a create or a release to
 * it in most runs of the lifecycle bench. Without it there is also no file watching: a source
 * edited while the platform runs no longer reloads the edge under it.
 */
import { build } from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { startEdgeFront } from "./edge-front.ts";

export type EdgeLogLevel = "none" | "error" | "warn" | "info" | "log" | "debug";

export interface EdgeOptions {
  repoRoot: string;
  /** Where clients reach the edge (its front door; workerd itself listens on a free loopback port). */
  host: string;
  port: number;
  /** workerd's own port on 127.0.0.1 (0: a free one): known before the start, nodes can be told it. */
  workerdPort?: number;
  /** Vars and secrets, over wrangler.toml's [vars]. */
  bindings: Record<string, string>;
  /**
   * Where Durable Objects, KV and R2 live (as `wrangler dev --persist-to`); false keeps nothing,
   * and then the objects live in memory (ephemeralObjects).
   */
  persist: string | false;
  logLevel: EdgeLogLevel;
}

export interface Edge {
  /**
   * The edge Worker's own socket in workerd, behind the front door and past Miniflare's entry
   * Worker: nodes' WebSockets dial it, the front door splices clients' WebSockets to it, and
   * benchmarks measure the front door apart with it.
   */
  workerdUrl: string;
  url: string;
  /** Runs the Worker's cron once (`scheduled`), as Cloudflare does every minute: it wakes the warm pool. */
  scheduled(): Promise<void>;
  dispose(): Promise<void>;
}

const RANK: Record<EdgeLogLevel, number> = { none: 0, error: 1, warn: 2, info: 3, log: 4, debug: 5 };
const MINIFLARE_LEVEL: Record<EdgeLogLevel, LogLevel> = {
  none: LogLevel.NONE,
  error: LogLevel.ERROR,
  warn: LogLevel.WARN,
  info: LogLevel.INFO,
  log: LogLevel.INFO,
  debug: LogLevel.DEBUG,
};
/** The edge's own LOG_LEVEL for what is shown: lines nobody will see are not built in the isolate. */
const EDGE_LOG_LEVEL: Record<EdgeLogLevel, string> = { none: "error", error: "error", warn: "warn", info: "info", log: "info", debug: "debug" };

/** Miniflare's log without its "Ready on <workerd's port>": clients use the front's URL, which the platform prints. */
class EdgeLog extends Log {
  override logReady() {}
}

/**
 * A folder for Durable Objects that nobody keeps, in memory where the machine has /dev/shm.
 * workerd commits a Durable Object's SQLite at the end of each of its turns, on workerd's one
 * thread; on this machine's disk each commit waited for the disk (measured: creates ten at a time
 * were admitted ~10 ms apart by their project's object, ~2 ms apart with this). Only the objects:
 * R2's blobs (recordings, downloads, profiles up to 100 MiB) stay on disk, as a container's
 * /dev/shm may hold 64 MB in all.
 */
function ephemeralObjects(): { dir: string; forget: () => void } {
  const memory = "/dev/shm";
  const dir = mkdtempSync(join(existsSync(memory) ? memory : tmpdir(), "wc-edge-objects-"));
  // Memory is not given back at a reboot's pace: a platform that exits without dispose() clears it too.
  const forget = () => {
    process.off("exit", forget);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", forget);
  return { dir, forget };
}

export async function startEdge(options: EdgeOptions): Promise<Edge> {
  const config = unstable_readConfig({ config: join(options.repoRoot, "wrangler.toml") });
  // The module's name in stack traces. The bundle itself stays in memory: platforms started side
  // by side (a bench beside a test) share no file.
  const modulePath = join(options.repoRoot, "dist/edge/index.mjs");
  // As wrangler bundles a Worker (its conditions, target and internal modules), minus its dev-only middleware.
  const bundle = await build({
    entryPoints: [config.main!], // absolute: wrangler resolves it against wrangler.toml
    outfile: modulePath,
    write: false,
    bundle: true,
    format: "esm",
    target: "es2024",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*"],
    keepNames: true,
    sourcemap: "inline",
    define: { "process.env.NODE_ENV": '"development"' },
    logLevel: "warning",
  });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  const show = (level: string) => RANK[options.logLevel] >= (RANK[level as EdgeLogLevel] ?? RANK.log);
  const ephemeral = options.persist === false ? ephemeralObjects() : undefined;
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    // WALLCRAWLER_EDGE_INSPECTOR_PORT: the edge's isolate opens to DevTools there (profiles, breakpoints), as `wrangler dev --inspector-port`.
    ...(process.env.WALLCRAWLER_EDGE_INSPECTOR_PORT ? { inspectorPort: Number(process.env.WALLCRAWLER_EDGE_INSPECTOR_PORT) } : {}),
    // Nothing leaves the machine: no lookup of Cloudflare's request metadata (`request.cf`).
    cf: false,
    log: new EdgeLog(MINIFLARE_LEVEL[options.logLevel]),
    // The edge's console, by level, as `wrangler dev --log-level` shows it.
    handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
      if (show(level)) (level === "error" || level === "warn" ? console.error : console.log)(message);
    },
    // Kept nowhere: everything in Miniflare's own temporary folder, but the objects in memory.
    ...(ephemeral ? { durableObjectsPersist: ephemeral.dir } : { defaultPersistRoot: join(options.persist as string, "v3") }),
    workers: [
      {
        ...workerOptions,
        name: config.name,
        modules: [{ type: "ESModule", path: modulePath, contents: bundle.outputFiles[0].text }],
        // Only what wrangler.toml says and what the platform passes: no .dev.vars or .env.
        bindings: { ...config.vars, LOG_LEVEL: EDGE_LOG_LEVEL[options.logLevel], ...options.bindings } as Record<string, string>,
        // The edge Worker on a socket of its own, without Miniflare's entry Worker in front (see the
        // top): the entry Worker would also relay WebSockets under its own compatibility flags, and so
        // accept the permessage-deflate that this Worker (no_web_socket_compression), like a deployed
        // one, refuses; and it adds a hop to every message.
        unsafeDirectSockets: [{ host: "127.0.0.1", port: options.workerdPort ?? 0 }],
      },
    ],
  });
  try {
    await mf.ready;
    const worker = await mf.unsafeGetDirectURL(config.name);
    const front = await startEdgeFront({ host: options.host, port: options.port, upstream: worker });
    return {
      url: front.url,
      workerdUrl: worker.origin,
      scheduled: async () => {
        const result = await (await mf.getWorker(config.name)).scheduled({ cron: "* * * * *" });
        if (result.outcome !== "ok") throw new Error(`the edge's scheduled() ended with ${result.outcome}`);
      },
      dispose: async () => {
        await front.close();
        await mf.dispose();
        ephemeral?.forget();
      },
    };
  } catch (error) {
    await mf.dispose().catch(() => {});
    ephemeral?.forget();
    throw error;
  }
}
