/**
 * Runs the browser node as a real child process, the way the ECS stand-in does: from source with
 * tsx, or the esbuild bundle. Collects its JSON log lines.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NodeEnv } from "../../../edge/node-protocol.ts";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BUNDLE = `${ROOT}dist/browser-node/main.mjs`;
export const CHROMIUM = process.env.WC_CHROMIUM_PATH ?? "/usr/lib/chromium/chromium";

export interface NodeOptions {
  edgeUrl: string;
  /** WC_LINK_TOKEN (FakeEdge.linkToken signs one for the session). */
  linkToken: string;
  /** WC_CONNECT_MODE; the node's own default (edge) when left out. */
  connectMode?: "edge" | "direct";
  jwks?: unknown;
  sessionId?: string;
  projectId?: string;
  keepAlive?: boolean;
  expiresInMs?: number;
  env?: Record<string, string | undefined>;
  bundle?: boolean;
  /** Flags for node itself, as the image's CMD passes them. */
  nodeFlags?: string[];
  /** Start this command instead (dockerfile.test.ts runs the program as the image would). */
  command?: { argv: string[]; cwd: string; uid?: number; gid?: number };
}

export interface RunningNode {
  child: ChildProcess;
  sessionId: string;
  projectId: string;
  logs: any[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line whose event matches. */
  waitForLog(event: string, timeoutMs?: number): Promise<any>;
}

export function startNode(o: NodeOptions): RunningNode {
  const sessionId = o.sessionId ?? randomUUID();
  const projectId = o.projectId ?? "project-1";
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    [NodeEnv.sessionId]: sessionId,
    [NodeEnv.projectId]: projectId,
    [NodeEnv.edgeUrl]: o.edgeUrl,
    [NodeEnv.linkToken]: o.linkToken,
    [NodeEnv.connectMode]: o.connectMode,
    [NodeEnv.jwks]: o.jwks === undefined ? undefined : JSON.stringify(o.jwks),
    [NodeEnv.expiresAt]: new Date(Date.now() + (o.expiresInMs ?? 600_000)).toISOString(),
    [NodeEnv.keepAlive]: String(o.keepAlive ?? false),
    [NodeEnv.proxyPort]: "0",
    [NodeEnv.advertiseHost]: "127.0.0.1",
    [NodeEnv.chromiumPath]: CHROMIUM,
    // Test pages live on loopback; and no name a stray browser request carries is looked up.
    [NodeEnv.egressAllowLoopback]: "1",
    [NodeEnv.egressOffline]: "1",
    ...o.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const useBundle = o.bundle ?? false;
  if (useBundle && !existsSync(BUNDLE)) throw new Error("bundle missing: run npm run build:node");
  const nodeFlags = o.nodeFlags ?? [];
  const args = useBundle ? [...nodeFlags, BUNDLE] : [...nodeFlags, "--import", "tsx", `${ROOT}browser-node/main.ts`];
  const [file, ...rest] = o.command?.argv ?? [process.execPath, ...args];
  const { cwd = ROOT, uid, gid } = o.command ?? {};
  const child = spawn(file!, rest, { cwd, env, uid, gid, stdio: ["ignore", "pipe", "pipe"] });

  const logs: any[] = [];
  const waiters: Array<() => void> = [];
  let buffered = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line));
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
      for (const wake of waiters.splice(0)) wake();
    }),
  );

  async function waitForLog(event: string, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = logs.find((l) => l.event === event);
      if (found) return found;
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`node logged no ${event}; stderr: ${stderr.slice(-2000)}; logs: ${JSON.stringify(logs).slice(-2000)}`);
      }
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }
  return { child, sessionId, projectId, logs, stderr: () => stderr, exited, waitForLog };
}
