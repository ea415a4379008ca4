/**
 * Runs the browser node as a real child process, the way the ECS stand-in does: from source with
 * tsx, or the esbuild bundle, booted as a pool member of a fake edge, which assigns it a session.
 * Collects its JSON log lines.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NodeEnv, type Assignment, type ProxyRoute } from "../../../edge/node-protocol.ts";
import { TEST_POOL, type AssignWhen, type FakeEdge } from "./fake-edge.ts";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BUNDLE = `${ROOT}dist/browser-node/start.mjs`;
export const CHROMIUM = process.env.WC_CHROMIUM_PATH ?? "/usr/lib/chromium/chromium";

/** The session a node is assigned (the fake edge sends it as the `Assignment`). */
export interface SessionOptions {
  sessionId?: string;
  projectId?: string;
  /** The assignment's connectMode; edge when left out. */
  connectMode?: "edge" | "direct";
  jwks?: unknown;
  keepAlive?: boolean;
  expiresInMs?: number;
  browserSettings?: Record<string, unknown>;
  proxies?: ProxyRoute[];
  /** The session link token; FakeEdge.linkToken signs one for the session when left out. */
  linkToken?: string;
}

export interface NodeOptions extends SessionOptions {
  /** The fake edge: it signs the tokens and sends the assignment over the pool link. */
  edge: FakeEdge;
  memberId?: string;
  /** WC_BOOTSTRAP_TOKEN; FakeEdge.bootstrapToken signs one for the member when left out. */
  bootstrapToken?: string;
  /** WC_MEMBER_RESERVED=1: the assignment comes as soon as the pool link opens. */
  reserved?: boolean;
  /** When the fake edge assigns the session (default: on `warm`, reserved: on open); false: the test does. */
  assign?: AssignWhen | false;
  /** Anything in the assignment to override as sent (tests of bad assignments). */
  assignment?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  bundle?: boolean;
  /** Flags for node itself, as the image's CMD passes them. */
  nodeFlags?: string[];
  /** Start this command instead (dockerfile.test.ts runs the program as the image would). */
  command?: { argv: string[]; cwd: string; uid?: number; gid?: number };
}

export interface RunningNode {
  child: ChildProcess;
  memberId: string;
  /** The session it is (or will be) assigned. */
  sessionId: string;
  projectId: string;
  /** The assignment offered for it (sent when `assign` says). */
  assignment: Assignment;
  logs: any[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line whose event matches. */
  waitForLog(event: string, timeoutMs?: number): Promise<any>;
}

/** The assignment a session's options make (tokens signed by the fake edge). */
export async function makeAssignment(edge: FakeEdge, o: SessionOptions = {}): Promise<Assignment> {
  const sessionId = o.sessionId ?? randomUUID();
  return {
    sessionId,
    projectId: o.projectId ?? "project-1",
    expiresAt: Date.now() + (o.expiresInMs ?? 600_000),
    keepAlive: o.keepAlive ?? false,
    connectMode: o.connectMode ?? "edge",
    browserSettings: o.browserSettings ?? {},
    proxies: o.proxies ?? [],
    linkToken: o.linkToken ?? (await edge.linkToken(sessionId)),
    jwks: (o.jwks ?? edge.key.jwks) as Assignment["jwks"],
  };
}

export async function startNode(o: NodeOptions): Promise<RunningNode> {
  const memberId = o.memberId ?? (o.reserved ? (o.sessionId ?? randomUUID()) : randomUUID());
  const assignment = { ...(await makeAssignment(o.edge, { ...o, sessionId: o.reserved ? memberId : o.sessionId })), ...o.assignment } as Assignment;
  if (o.jwks === null) delete (assignment as Partial<Assignment>).jwks;
  const when = o.assign ?? (o.reserved ? "on-open" : "on-warm");
  if (when) o.edge.offer(memberId, assignment, when);
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    [NodeEnv.edgeUrl]: o.edge.url,
    [NodeEnv.pool]: TEST_POOL,
    [NodeEnv.memberId]: memberId,
    [NodeEnv.bootstrapToken]: o.bootstrapToken ?? (await o.edge.bootstrapToken(memberId)),
    [NodeEnv.reserved]: o.reserved ? "1" : undefined,
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
  const args = useBundle ? [...nodeFlags, BUNDLE] : [...nodeFlags, "--import", "tsx", `${ROOT}browser-node/start.ts`];
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
  return { child, memberId, sessionId: assignment.sessionId, projectId: assignment.projectId, assignment, logs, stderr: () => stderr, exited, waitForLog };
}
