/** What every end-to-end test needs: the platform, a page to visit, and a look at the process table. */
import Browserbase from "@browserbasehq/sdk";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll } from "vitest";
import { memberProcesses, processesWithEnv } from "../../browser-node/local/processes.ts";
import { NodeEnv } from "../../edge/node-protocol.ts";
import { startLocalPlatform, type LocalPlatform, type LocalPlatformOptions } from "../../browser-node/local/platform.ts";

/** The pool member serving `sessionId`, as the admin API tells it (a member reserved for a session, the cold path, has the session's id). */
async function memberOf(platform: LocalPlatform, sessionId: string): Promise<string> {
  const res = await fetch(`${platform.edgeUrl}/admin/sessions/${sessionId}/node`, { headers: { authorization: `Bearer ${platform.secrets.ADMIN_TOKEN}` } });
  if (!res.ok) throw new Error(`GET /admin/sessions/${sessionId}/node answered ${res.status}`);
  return ((await res.json()) as { memberId?: string }).memberId ?? sessionId;
}

/** The processes (node, Chromium) of the member that serves `sessionId`. */
export const sessionProcesses = async (platform: LocalPlatform, sessionId: string) => memberProcesses(await memberOf(platform, sessionId));

/** The stand-in's task serving `sessionId`: a member reserved for it (`wc-<session>`) or a warm one it claimed (`wp-<member>`). */
export async function sessionTask(platform: LocalPlatform, sessionId: string) {
  const member = await memberOf(platform, sessionId);
  return [...platform.standIn.tasks.values()].find((t) => t.startedBy === `wc-${sessionId}` || t.startedBy === `wp-${member}`);
}

/** How many tasks were started for sessions (the cold path's reserved members), not for the pool. */
export const reservedTasks = (platform: LocalPlatform) => [...platform.standIn.tasks.values()].filter((t) => t.startedBy?.startsWith("wc-")).length;

/** WARM_POOL_SIZE for the e2e platforms: WC_E2E_WARM_POOL_SIZE, so CI runs the suite with the pool on and off. */
export const E2E_WARM_POOL_SIZE = process.env.WC_E2E_WARM_POOL_SIZE === undefined ? undefined : Number(process.env.WC_E2E_WARM_POOL_SIZE);

/** Every browser-node and Chromium process this platform started (others on the machine are not ours to count). */
export const platformProcesses = (platform: LocalPlatform) => processesWithEnv(NodeEnv.edgeUrl, platform.edgeUrl);

/** Starts the whole platform (fresh secrets, nothing persisted) with nodes that end quickly when idle. */
export async function startPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  const platform = await startLocalPlatform({
    concurrency: 20,
    warmPoolSize: E2E_WARM_POOL_SIZE,
    ...options,
    // Offline: the egress proxy looks up no name (a stray browser request must not send a DNS query off the machine).
    nodeEnv: { WC_IDLE_GRACE_MS: "1500", [NodeEnv.egressOffline]: "1", ...options.nodeEnv },
    onNodeOutput: options.onNodeOutput ?? (process.env.WC_TEST_VERBOSE ? (line) => console.error(`[node] ${line}`) : undefined),
  });
  return platform;
}

export interface PlatformFixture {
  platform: LocalPlatform;
  pages: PageServer;
  /** The SDK, configured for the platform's dev project. */
  bb: Browserbase;
}

/** Starts the platform, a page server and an SDK client before a file's tests, and stops them after. */
export function usePlatform(options: LocalPlatformOptions = {}): PlatformFixture {
  const fixture = {} as PlatformFixture;
  beforeAll(async () => {
    fixture.platform = await startPlatform(options);
    fixture.pages = await startPageServer();
    fixture.bb = new Browserbase({ apiKey: fixture.platform.apiKey, baseURL: fixture.platform.edgeUrl });
  });
  afterAll(async () => {
    await fixture.platform?.stop();
    await fixture.pages?.close();
  });
  return fixture;
}

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/** A page the browsers visit: its title names the path, so each test can tell its own page. */
export async function startPageServer(): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><title>page ${req.url}</title><h1>hello from ${req.url}</h1>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export async function api(platform: LocalPlatform, path: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${platform.edgeUrl}${path}`, {
    ...init,
    headers: { "X-BB-API-Key": platform.apiKey, "content-type": "application/json", ...init.headers },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
