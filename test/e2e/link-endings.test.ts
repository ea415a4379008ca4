/**
 * How a session ends for a client connected through the edge (CONNECT_MODE=edge, the default),
 * through the whole local platform: a release, a crash of Chromium and a stopped task reach the
 * client as a close frame with its code and reason (the node's, passed through), and a node that
 * dies outright (SIGKILL: no exit report, no close frame) drops its clients' connections and is
 * noticed through its link, which settles the session within the link's reconnect grace. The
 * platform's ECS task events are refused here (a wrong TASK_EVENTS_SECRET, as in a secret
 * rotation's window) so that the link is the only way the edge can learn of the dead node.
 */
import Browserbase from "@browserbasehq/sdk";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCode, LINK_RECONNECT_GRACE_MS } from "../../edge/node-protocol.ts";
import type { LocalPlatform } from "../../browser-node/local/platform.ts";
import { sessionProcesses, sessionTask, startPlatform } from "./helpers.ts";

/** A raw CDP client on connectUrl: resolves once open, and with the close frame it gets. */
async function cdpClient(connectUrl: string) {
  const socket = new WebSocket(connectUrl, { perMessageDeflate: false });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  // One round trip, so the channel to Chromium is known to work before the ending.
  const version = new Promise<any>((resolve) => socket.once("message", (data) => resolve(JSON.parse(String(data)))));
  socket.send(JSON.stringify({ id: 1, method: "Browser.getVersion" }));
  expect((await version).result.product).toMatch(/Chrome/);
  return { socket, closed };
}

describe("endings through the edge", () => {
  let platform: LocalPlatform;
  let bb: Browserbase;
  beforeAll(async () => {
    platform = await startPlatform({ vars: { TASK_EVENTS_SECRET: `refused-${crypto.randomUUID()}` } });
    bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl, maxRetries: 0 });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it("closes a client with 1001 'session released' on release", async () => {
    const session = await bb.sessions.create({ keepAlive: true });
    expect(new URL(session.connectUrl).pathname).toBe(`/cdp/${session.id}`);
    const client = await cdpClient(session.connectUrl);
    await bb.sessions.update(session.id, { status: "REQUEST_RELEASE" });
    expect(await client.closed).toEqual(CloseCode.released);
    await expect.poll(async () => (await sessionProcesses(platform, session.id)).length, { timeout: 20_000 }).toBe(0);
    expect((await bb.sessions.retrieve(session.id)).status).toBe("COMPLETED");
  });

  it("closes a client with 1011 'browser crashed' when Chromium dies, from the node", async () => {
    const session = await bb.sessions.create({ keepAlive: true });
    const client = await cdpClient(session.connectUrl);
    const task = await sessionTask(platform, session.id);
    const chromium = (await sessionProcesses(platform, session.id)).filter((pid) => pid !== task!.pid);
    expect(chromium.length).toBeGreaterThan(0);
    for (const pid of chromium) process.kill(pid, "SIGKILL");
    expect(await client.closed).toEqual(CloseCode.browserCrashed);
    await expect.poll(async () => (await bb.sessions.retrieve(session.id)).status, { timeout: 20_000 }).toBe("ERROR");
  });

  it("closes a client with 1001 when its task is stopped (SIGTERM, as ECS's StopTask): the node goes away", async () => {
    const session = await bb.sessions.create({ keepAlive: true });
    const client = await cdpClient(session.connectUrl);
    const task = await sessionTask(platform, session.id);
    process.kill(task!.pid!, "SIGTERM");
    // browser-node/README.md: a terminated node closes its clients as a released session does.
    expect(await client.closed).toEqual(CloseCode.released);
    await expect.poll(async () => (await bb.sessions.retrieve(session.id)).status, { timeout: 20_000 }).toBe("ERROR");
    await expect.poll(async () => (await sessionProcesses(platform, session.id)).length, { timeout: 20_000 }).toBe(0);
  });

  it("settles the session of a node killed outright, from its link alone: ERROR, its client dropped, nothing left", async () => {
    const session = await bb.sessions.create({ keepAlive: true });
    const client = await cdpClient(session.connectUrl);
    const task = await sessionTask(platform, session.id);
    expect(task?.pid).toBeGreaterThan(0);
    expect(await sessionProcesses(platform, session.id)).toContain(task!.pid);

    process.kill(task!.pid!, "SIGKILL");
    // The client's connection is joined to the node's channel: it drops with it, with no close
    // frame (1006), as a client of the node's own proxy does in direct mode.
    expect((await client.closed).code).toBe(1006);
    // Heartbeats would have taken a minute; the link's loss is judged at once (ECS asked, or the grace).
    await expect.poll(async () => (await bb.sessions.retrieve(session.id)).status, { timeout: 3 * LINK_RECONNECT_GRACE_MS }).toBe("ERROR");
    await expect.poll(async () => (await sessionProcesses(platform, session.id)).length, { timeout: 20_000 }).toBe(0);
    // The stand-in's task stopped, its STOPPED event refused: the session's status came from the link.
    expect(platform.standIn.tasks.get(task!.taskArn)?.lastStatus).toBe("STOPPED");
  });
});
