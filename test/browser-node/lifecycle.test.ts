/**
 * Every way a session ends, each on its own node run as a real child process: the client gets a
 * close frame with the reason, the edge gets `exit` with it, the process exits with the right
 * code, and nothing of Chromium is left in the process table.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sessionProcesses } from "../../browser-node/local/processes.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCode } from "../../edge/node-protocol.ts";
import { EdgeRecorder } from "./support/edge-recorder.ts";
import { makeSigningKey, signCdpToken, type SigningKey } from "./support/keys.ts";
import { startNode, type NodeOptions, type RunningNode } from "./support/node-process.ts";
import { startReadyNode } from "./support/ready-node.ts";
import { chromiumLeft } from "./support/processes.ts";
import { connectRaw } from "./support/raw-client.ts";
import { shared, sharedToken } from "./support/shared.ts";

let edge: EdgeRecorder;
let key: SigningKey;

beforeAll(async () => {
  edge = new EdgeRecorder();
  await edge.start();
  key = await makeSigningKey();
});
afterAll(() => edge.stop());

const readyNode = (options: Partial<NodeOptions> = {}) => startReadyNode({ edge, key, ...options });

/** The node is gone with the expected code, reported why, and left no Chromium and no profile. */
async function expectEnded(node: RunningNode, started: any, reason: string, code: number) {
  expect((await node.exited).code).toBe(code);
  const exit = edge.of("exit", node.sessionId);
  expect(exit).toHaveLength(1);
  expect(exit[0].body.reason).toBe(reason);
  expect(exit[0].authorization).toBe("Bearer node-token-for-tests");
  expect(chromiumLeft(started.profileDir, started.pid)).toEqual([]);
  expect(existsSync(started.profileDir)).toBe(false);
  expect(node.logs.at(-1)).toMatchObject({ event: "exit", reason, code });
}

describe("session endings", () => {
  it("SIGTERM (the bundle, as the image runs it): close frames, exit reported, Chromium gone, exit 0", async () => {
    const { node, port, token, started } = await readyNode({ bundle: true });
    const clients = [await connectRaw(port, token), await connectRaw(port, token)];
    node.child.kill("SIGTERM");
    for (const client of clients) expect(await client.closed).toEqual(CloseCode.released);
    await expectEnded(node, started, "terminated", 0);
  });

  it("times out at expiresAt with 4001", async () => {
    const { node, port, token, started } = await readyNode({ expiresInMs: 7000 });
    const client = await connectRaw(port, token);
    expect(await client.closed).toEqual(CloseCode.timedOut);
    await expectEnded(node, started, "timed-out", 0);
  });

  it("ends a non-keepAlive session a grace period after its last client leaves", async () => {
    const { node, port, token, started } = await readyNode({ env: { WC_IDLE_GRACE_MS: "400" } });
    const first = await connectRaw(port, token);
    const second = await connectRaw(port, token);
    first.socket.close();
    await first.closed;
    expect((await second.call("Browser.getVersion")).product).toMatch(/Chrome/); // one left: still live
    const leftAt = Date.now();
    second.socket.close();
    await expectEnded(node, started, "idle", 0);
    expect(edge.of("exit", node.sessionId)[0].at - leftAt).toBeGreaterThanOrEqual(400);
  });

  it("keeps a keepAlive session through disconnects, reconnectable, with heartbeats", async () => {
    const { node, port, token, started } = await readyNode({ keepAlive: true, env: { WC_IDLE_GRACE_MS: "100" } });
    // The untrusted browser never sees the node token; the session id stays for leak checks.
    const environ = readFileSync(`/proc/${started.pid}/environ`, "latin1");
    expect(environ).not.toContain("WC_NODE_TOKEN");
    expect(environ).toContain(`WC_SESSION_ID=${node.sessionId}`);
    const first = await connectRaw(port, token);
    await first.call("Browser.getVersion");
    first.socket.close();
    await first.closed;
    await new Promise((r) => setTimeout(r, 1200)); // well past the idle grace
    const again = await connectRaw(port, token);
    expect((await again.call("Browser.getVersion")).product).toMatch(/Chrome/);
    await expect.poll(() => edge.of("heartbeat", node.sessionId).length, { timeout: 5000 }).toBeGreaterThan(0);
    // The call is the sign of life: its body carries nothing the edge would have to ignore.
    for (const beat of edge.of("heartbeat", node.sessionId)) expect(beat.body).toEqual({});
    // The edge answers a heartbeat with end: the session is over → released.
    edge.heartbeatReply = { end: true };
    expect(await again.closed).toEqual(CloseCode.released);
    edge.heartbeatReply = { end: false };
    await expectEnded(node, started, "released", 0);
  });

  it("reports a Chromium killed outright as a crash: 1011 to clients, exit code 1", async () => {
    const { node, port, token, started } = await readyNode();
    const client = await connectRaw(port, token);
    process.kill(-started.pid, "SIGKILL");
    expect(await client.closed).toEqual(CloseCode.browserCrashed);
    await expectEnded(node, started, "browser-crashed", 1);
  });

  it("ends a session no client connects to at the connect deadline", async () => {
    const { node, started } = await readyNode({ env: { WC_CONNECT_DEADLINE_MS: "500" } });
    await expectEnded(node, started, "never-connected", 0);
  });
});

describe("readiness", () => {
  it("SIGTERM while Chromium is still starting still stops it and exits 0", async () => {
    const node = startNode({ edgeUrl: edge.url, jwks: key.jwks });
    await node.waitForLog("starting");
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
    expect(edge.of("exit", node.sessionId).map((e) => e.body.reason)).toEqual(["terminated"]);
    const started = node.logs.find((l) => l.event === "browser-started");
    if (started) {
      expect(chromiumLeft(started.profileDir, started.pid)).toEqual([]);
      expect(existsSync(started.profileDir)).toBe(false);
    }
  });

  it("SIGTERM while the browser hangs before listening stops it at once, not at the ready deadline", async () => {
    const hung = join(mkdtempSync(join(tmpdir(), "wc-hung-browser-")), "chromium");
    writeFileSync(hung, "#!/bin/sh\nexec sleep 600\n");
    chmodSync(hung, 0o755);
    const node = startNode({ edgeUrl: edge.url, jwks: key.jwks, env: { WC_CHROMIUM_PATH: hung, WC_READY_DEADLINE_MS: "120000" } });
    await node.waitForLog("starting");
    await expect.poll(() => sessionProcesses(node.sessionId).length).toBeGreaterThan(1); // the node and its "browser"
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
    expect(edge.of("exit", node.sessionId).map((e) => e.body.reason)).toEqual(["terminated"]);
    expect(sessionProcesses(node.sessionId)).toEqual([]);
  });

  it("retries ready until the edge takes it", async () => {
    edge.readyStatuses = [503];
    const { node } = await readyNode();
    await expect.poll(() => edge.of("ready", node.sessionId).length, { timeout: 10_000 }).toBe(2);
    const ready = edge.of("ready", node.sessionId)[1];
    expect(ready.body).toMatchObject({ host: "127.0.0.1", browserVersion: expect.stringMatching(/^Chrome\/\d+/) });
    expect(ready.authorization).toBe("Bearer node-token-for-tests");
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
  });

  it("a node that cannot become ready reports not-ready and exits non-zero", async () => {
    const node = startNode({ edgeUrl: edge.url, jwks: key.jwks, env: { WC_CHROMIUM_PATH: "/nonexistent/chromium" } });
    expect((await node.exited).code).toBe(1);
    const exit = edge.of("exit", node.sessionId);
    expect(exit.map((e) => e.body.reason)).toEqual(["not-ready"]);
    expect(exit[0].body.detail).toMatch(/nonexistent/);
    expect(edge.of("ready", node.sessionId)).toEqual([]);
  });
});

describe("the edge's keys", () => {
  it("are fetched from <edge>/.well-known/jwks.json when the environment has none", async () => {
    edge.jwks = key.jwks;
    const before = edge.jwksRequests;
    const { node, port, token } = await readyNode({ jwks: undefined });
    const client = await connectRaw(port, token);
    expect((await client.call("Browser.getVersion")).product).toMatch(/Chrome/);
    expect(edge.jwksRequests).toBeGreaterThan(before);
    const stranger = await makeSigningKey("test-key");
    const forged = await signCdpToken(stranger, { sub: node.sessionId, pid: node.projectId });
    await expect(connectRaw(port, forged)).rejects.toThrow(/401/);
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
  });
});

describe("token lifetime", () => {
  it("closes a socket with 4002 when its token expires (the session goes on)", async () => {
    const token = await sharedToken({ expIn: 2 });
    const client = await connectRaw(shared().port, token);
    expect(await client.closed).toEqual(CloseCode.tokenExpired);
    const fresh = await connectRaw(shared().port, await sharedToken());
    expect((await fresh.call("Browser.getVersion")).product).toMatch(/Chrome/);
    fresh.socket.close();
  });
});
