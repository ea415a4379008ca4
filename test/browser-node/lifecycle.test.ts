/**
 * Every way a session ends, each on its own node run as a real child process, in both connect
 * modes (edge: the client comes through the fake edge and the node's channel; direct: through the
 * node's proxy): the client gets a close frame with the reason, the edge gets `exit` with it over
 * the link (then the link closes with 1000), the process exits with the right code, and nothing
 * of Chromium is left in the process table.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processesWithEnv } from "../../browser-node/local/processes.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCode, NodeEnv } from "../../edge/node-protocol.ts";
import { FakeEdge } from "./support/fake-edge.ts";
import { signCdpToken, makeSigningKey } from "./support/keys.ts";
import { startNode, type NodeOptions, type RunningNode } from "./support/node-process.ts";
import { startReadyNode } from "./support/ready-node.ts";
import { chromiumLeft } from "./support/processes.ts";
import { connectRaw, connectRawUrl } from "./support/raw-client.ts";
import { shared, sharedToken } from "./support/shared.ts";

let edge: FakeEdge;
const memberProcesses = (memberId: string) => processesWithEnv(NodeEnv.memberId, memberId);

beforeAll(async () => {
  edge = await FakeEdge.start();
});
afterAll(() => edge.stop());

/** A node not waited for, assigned a session as soon as its pool link opens (a reserved member: it launches Chromium after that). */
function unreadyNode(options: Partial<NodeOptions> = {}): Promise<RunningNode> {
  return startNode({ reserved: true, ...options, edge });
}

/** The node is gone with the expected code, reported why over its link, and left no Chromium and no profile. */
async function expectEnded(node: RunningNode, started: any, reason: string, code: number) {
  expect((await node.exited).code).toBe(code);
  expect(edge.messages(node.sessionId, "exit").map((e) => e.reason)).toEqual([reason]);
  expect(edge.linkCloses.filter((c) => c.sessionId === node.sessionId).at(-1)).toMatchObject({ code: 1000 });
  expect(chromiumLeft(started.profileDir, started.pid)).toEqual([]);
  expect(existsSync(started.profileDir)).toBe(false);
  expect(node.logs.at(-1)).toMatchObject({ event: "exit", reason, code });
}

describe.each(["edge", "direct"] as const)("session endings, %s mode", (connectMode) => {
  const readyNode = (options: Partial<NodeOptions> = {}) => startReadyNode({ edge, connectMode, ...options });

  it("SIGTERM (the bundle, as the image runs it): close frames, exit reported, Chromium gone, exit 0", async () => {
    const { node, cdpUrl, started } = await readyNode({ bundle: true });
    const clients = [await connectRawUrl(cdpUrl), await connectRawUrl(cdpUrl)];
    node.child.kill("SIGTERM");
    for (const client of clients) expect(await client.closed).toEqual(CloseCode.released);
    await expectEnded(node, started, "terminated", 0);
  });

  it("times out at expiresAt with 4001", async () => {
    const { node, cdpUrl, started } = await readyNode({ expiresInMs: 7000 });
    const client = await connectRawUrl(cdpUrl);
    expect(await client.closed).toEqual(CloseCode.timedOut);
    await expectEnded(node, started, "timed-out", 0);
  });

  it("ends a non-keepAlive session a grace period after its last client leaves", async () => {
    const { node, cdpUrl, started } = await readyNode({ env: { WC_IDLE_GRACE_MS: "400" } });
    const first = await connectRawUrl(cdpUrl);
    const second = await connectRawUrl(cdpUrl);
    first.socket.close();
    await first.closed;
    expect((await second.call("Browser.getVersion")).product).toMatch(/Chrome/); // one left: still live
    const leftAt = Date.now();
    second.socket.close();
    await expectEnded(node, started, "idle", 0);
    expect(edge.received.find((m) => m.sessionId === node.sessionId && m.message.t === "exit")!.at - leftAt).toBeGreaterThanOrEqual(400);
  });

  it("keeps a keepAlive session through disconnects, reconnectable, until the edge sends end", async () => {
    const { node, cdpUrl, started } = await readyNode({ keepAlive: true, env: { WC_IDLE_GRACE_MS: "100" } });
    // The untrusted browser never sees the node's credentials; the member id stays for leak checks.
    const environ = readFileSync(`/proc/${started.pid}/environ`, "latin1");
    expect(environ).not.toContain("WC_BOOTSTRAP_TOKEN");
    expect(environ).not.toMatch(/eyJ/);
    expect(environ).toContain(`WC_MEMBER_ID=${node.memberId}`);
    const first = await connectRawUrl(cdpUrl);
    await first.call("Browser.getVersion");
    first.socket.close();
    await first.closed;
    await new Promise((r) => setTimeout(r, 1200)); // well past the idle grace
    const again = await connectRawUrl(cdpUrl);
    expect((await again.call("Browser.getVersion")).product).toMatch(/Chrome/);
    edge.end(node.sessionId, "released", "released through the API");
    expect(await again.closed).toEqual(CloseCode.released);
    await expectEnded(node, started, "released", 0);
    expect(edge.messages(node.sessionId, "exit")[0].detail).toBe("released through the API");
  });

  it("reports a Chromium killed outright as a crash: 1011 to clients, exit code 1", async () => {
    const { node, cdpUrl, started } = await readyNode();
    const client = await connectRawUrl(cdpUrl);
    process.kill(-started.pid, "SIGKILL");
    expect(await client.closed).toEqual(CloseCode.browserCrashed);
    await expectEnded(node, started, "browser-crashed", 1);
  });
});

it("ends a session no client connects to at the connect deadline", async () => {
  const { node, started } = await startReadyNode({ edge, env: { WC_CONNECT_DEADLINE_MS: "500" } });
  await expectEnded(node, started, "never-connected", 0);
});

describe("readiness", () => {
  it("SIGTERM while Chromium is still starting still stops it, reports terminated and exits 0", async () => {
    const node = await unreadyNode();
    await node.waitForLog("assigned");
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
    expect(edge.messages(node.sessionId, "exit").map((e) => e.reason)).toEqual(["terminated"]);
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
    const node = await unreadyNode({ env: { WC_CHROMIUM_PATH: hung, WC_READY_DEADLINE_MS: "120000" } });
    await node.waitForLog("assigned");
    await expect.poll(() => memberProcesses(node.memberId).length).toBeGreaterThan(1); // the node and its "browser"
    await expect.poll(() => edge.linkAttempts.some((a) => a.sessionId === node.sessionId)).toBe(true);
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
    expect(edge.messages(node.sessionId, "exit").map((e) => e.reason)).toEqual(["terminated"]);
    expect(memberProcesses(node.memberId)).toEqual([]);
  });

  it("redials a link the edge cannot take yet (503) and is ready once it can", async () => {
    const sessionId = crypto.randomUUID();
    edge.refuseLinks.set(sessionId, 503);
    const ready = startReadyNode({ edge, sessionId });
    await expect.poll(() => edge.linkAttempts.filter((a) => a.sessionId === sessionId && a.status === 503).length, { timeout: 10_000 }).toBeGreaterThan(0);
    edge.refuseLinks.delete(sessionId);
    const { node } = await ready;
    expect(edge.messages(sessionId, "ready")).toHaveLength(1);
    expect(edge.linkAttempts.filter((a) => a.sessionId === sessionId).at(-1)).toEqual({ sessionId, status: 101 });
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
  });

  it("a node that cannot become ready reports not-ready over its link and exits non-zero", async () => {
    const node = await unreadyNode({ env: { WC_CHROMIUM_PATH: "/nonexistent/chromium" } });
    expect((await node.exited).code).toBe(1);
    const exit = edge.messages(node.sessionId, "exit");
    expect(exit.map((e) => e.reason)).toEqual(["not-ready"]);
    expect(exit[0].detail).toMatch(/nonexistent/);
    expect(edge.messages(node.sessionId, "ready")).toEqual([]);
  });
});

describe("the edge's keys (direct mode's proxy)", () => {
  it("are fetched from <edge>/.well-known/jwks.json when the environment has none", async () => {
    const before = edge.jwksRequests;
    const { node, port, token } = await startReadyNode({ edge, connectMode: "direct", jwks: null });
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

describe("token lifetime (direct mode)", () => {
  it("closes a socket with 4002 when its token expires (the session goes on)", async () => {
    const token = await sharedToken({ expIn: 2 });
    const client = await connectRaw(shared().port, token);
    expect(await client.closed).toEqual(CloseCode.tokenExpired);
    const fresh = await connectRaw(shared().port, await sharedToken());
    expect((await fresh.call("Browser.getVersion")).product).toMatch(/Chrome/);
    fresh.socket.close();
  });
});
