/**
 * The node's link to the edge, against the fake edge: ready only after a real CDP round trip, a
 * link token checked by the edge, a node that listens on no port in edge mode (but its egress
 * proxy's, on loopback), a dropped link
 * redialed with the session going on, and the ways a link ends the session.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCode, LinkClose } from "../../edge/node-protocol.ts";
import { FakeEdge } from "./support/fake-edge.ts";
import { signNodeSideToken } from "./support/keys.ts";
import { startNode } from "./support/node-process.ts";
import { chromiumLeft } from "./support/processes.ts";
import { connectRawUrl } from "./support/raw-client.ts";
import { startReadyNode } from "./support/ready-node.ts";
import { egressPortOf, listeners, socketCount } from "./support/sockets.ts";

let edge: FakeEdge;
beforeAll(async () => {
  edge = await FakeEdge.start();
});
afterAll(() => edge.stop());

describe("ready", () => {
  it("comes over the link after a real round trip to Chromium, and the node listens on no TCP port for clients", async () => {
    const { node, ready, cdpUrl, started } = await startReadyNode({ edge });
    expect(ready).toEqual({ t: "ready", browserVersion: expect.stringMatching(/^Chrome\/\d+\./) });
    expect(edge.linkAttempts.filter((a) => a.sessionId === node.sessionId)).toEqual([{ sessionId: node.sessionId, status: 101 }]);
    // Its sockets are the link and the CDP connections it made, which listen for nothing, and the
    // egress proxy Chromium goes out through, which listens on loopback only.
    const egress = [{ address: "127.0.0.1", port: egressPortOf(started.pid) }];
    expect(socketCount(node.child.pid!)).toBeGreaterThan(0);
    expect(listeners(node.child.pid!)).toEqual(egress);
    const client = await connectRawUrl(cdpUrl);
    expect((await client.call("Browser.getVersion")).product).toBe(ready.browserVersion);
    expect(listeners(node.child.pid!)).toEqual(egress);
    expect(listeners(started.pid)).toEqual([{ address: "127.0.0.1", port: started.debugPort }]); // Chromium's own
    node.child.kill("SIGTERM");
    expect(await client.closed).toEqual(CloseCode.released);
    expect((await node.exited).code).toBe(0);
  });

  it("in direct mode carries the proxy's address, the one port the node listens on for clients", async () => {
    const { node, ready, port, started } = await startReadyNode({ edge, connectMode: "direct" });
    expect(ready).toEqual({ t: "ready", browserVersion: expect.stringMatching(/^Chrome\//), direct: { host: "127.0.0.1", port: expect.any(Number) } });
    const found = listeners(node.child.pid!);
    expect(found).toHaveLength(2);
    expect(found).toEqual(expect.arrayContaining([{ address: "127.0.0.1", port }, { address: "127.0.0.1", port: egressPortOf(started.pid) }]));
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
  });
});

describe("the link token", () => {
  it.each([
    ["a node token (another audience)", (sessionId: string) => signNodeSideToken(edge.key, "node", { sub: sessionId })],
    ["another session's link token", () => edge.linkToken(crypto.randomUUID())],
    ["an expired link token", (sessionId: string) => edge.linkToken(sessionId, { expIn: -120 })],
  ])("%s is refused by the edge: the node gives up at once, stops Chromium and exits 1", async (_name, token) => {
    const sessionId = crypto.randomUUID();
    const node = await startNode({ edge, sessionId, linkToken: await token(sessionId) });
    expect((await node.exited).code).toBe(1);
    expect(edge.linkAttempts.filter((a) => a.sessionId === sessionId)).toEqual([{ sessionId, status: 401 }]);
    expect(edge.messages(sessionId)).toEqual([]);
    expect(node.logs.find((l) => l.event === "link-lost")?.detail).toMatch(/refused the link: HTTP 401/);
    const started = node.logs.find((l) => l.event === "browser-started");
    if (started) expect(chromiumLeft(started.profileDir, started.pid)).toEqual([]);
  });
});

describe("a link that drops", () => {
  it("is redialed, gets a fresh welcome, and the session goes on: old clients, new clients, artifacts", async () => {
    const { node, cdpUrl } = await startReadyNode({ edge, keepAlive: true });
    const before = await connectRawUrl(cdpUrl);
    edge.dropLink(node.sessionId);
    await expect.poll(() => edge.linkAttempts.filter((a) => a.sessionId === node.sessionId && a.status === 101).length, { timeout: 10_000 }).toBe(2);
    expect(node.logs.some((l) => l.event === "link-dropped")).toBe(true);
    // A channel lives apart from the link: the client that was there keeps working.
    expect((await before.call("Browser.getVersion")).product).toMatch(/Chrome/);
    const after = await connectRawUrl(cdpUrl);
    expect((await after.call("Target.getTargets")).targetInfos.length).toBeGreaterThan(0);
    expect((await edge.call(node.sessionId, { op: "json", path: "/json/version" })).ok).toBe(true);
    expect(edge.messages(node.sessionId, "exit")).toEqual([]);
    edge.end(node.sessionId, "released");
    expect(await after.closed).toEqual(CloseCode.released);
    expect((await node.exited).code).toBe(0);
    expect(edge.messages(node.sessionId, "exit").map((e) => e.reason)).toEqual(["released"]);
  });

  it("ends the session when it cannot come back within the grace: clients get 1011, Chromium goes, exit 1", async () => {
    const { node, cdpUrl, started } = await startReadyNode({ edge });
    const client = await connectRawUrl(cdpUrl);
    edge.refuseLinks.set(node.sessionId, 503);
    edge.dropLink(node.sessionId);
    expect(await client.closed).toEqual(CloseCode.nodeError);
    expect((await node.exited).code).toBe(1);
    expect(node.logs.find((l) => l.event === "link-lost")?.detail).toMatch(/did not come back: HTTP 503/);
    expect(node.logs.at(-1)).toMatchObject({ event: "exit", reason: "error", reported: false });
    expect(chromiumLeft(started.profileDir, started.pid)).toEqual([]);
    expect(existsSync(started.profileDir)).toBe(false);
  });

  it("closed by the edge with 'session over' ends the session as released, without redialing", async () => {
    const { node, cdpUrl } = await startReadyNode({ edge });
    const client = await connectRawUrl(cdpUrl);
    edge.closeLink(node.sessionId, LinkClose.sessionOver.code, LinkClose.sessionOver.reason);
    expect(await client.closed).toEqual(CloseCode.released);
    expect((await node.exited).code).toBe(0);
    expect(edge.linkAttempts.filter((a) => a.sessionId === node.sessionId)).toHaveLength(1);
    expect(node.logs.at(-1)).toMatchObject({ event: "exit", reason: "released", reported: false });
  });

  it("redialed into a session that ended meanwhile (closed with 'session over' before any welcome) ends it as released", async () => {
    const { node, cdpUrl } = await startReadyNode({ edge, keepAlive: true });
    const client = await connectRawUrl(cdpUrl);
    edge.over.add(node.sessionId);
    edge.dropLink(node.sessionId);
    expect(await client.closed).toEqual(CloseCode.released);
    expect((await node.exited).code).toBe(0);
    expect(edge.linkAttempts.filter((a) => a.sessionId === node.sessionId)).toHaveLength(2);
    expect(node.logs.some((l) => l.event === "link-lost")).toBe(false);
    expect(node.logs.at(-1)).toMatchObject({ event: "exit", reason: "released", reported: false });
  });

  it("redials to report exit when it is down at the end", async () => {
    const { node } = await startReadyNode({ edge });
    edge.refuseLinks.set(node.sessionId, 503);
    edge.dropLink(node.sessionId);
    await expect.poll(() => edge.linkAttempts.filter((a) => a.sessionId === node.sessionId && a.status === 503).length).toBeGreaterThan(0);
    node.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    edge.refuseLinks.delete(node.sessionId);
    expect((await node.exited).code).toBe(0);
    expect(edge.messages(node.sessionId, "exit").map((e) => e.reason)).toEqual(["terminated"]);
  });
});
