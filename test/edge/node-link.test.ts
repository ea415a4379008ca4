/**
 * The node's link: welcome, ready, end; replacement by a newer link; and what a dropped link
 * means. A drop asks ECS at once: a stopped task settles the session, a running one has
 * LINK_RECONNECT_GRACE_MS to redial before the session ends in ERROR and its task is stopped.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { LinkClose, nodeLinkPath } from "../../edge/node-protocol.ts";
import type { SessionRecord } from "../../edge/sessions/session-record.ts";
import { EcsClient } from "../../edge/aws/ecs-client.ts";
import { awsCredentials } from "../../edge/aws/aws-call.ts";
import { readConfig } from "../../edge/config.ts";
import { FakeNode, scriptedCalls, upgrade } from "./fake-node.ts";
import { api, call, callsFor, env, newProject, nextLaunch, nodeArtifact, patchRecord, sessionObject, startSession, taskOf, until } from "./helpers.ts";

const stopOutOfBand = async (sessionId: string) =>
  new EcsClient(readConfig(env).ecs, awsCredentials(env)!).stopTask((await taskOf(sessionId)).taskArn, "killed out of band");
const record = (id: string) => runInDurableObject(sessionObject(id), (_o, state) => state.storage.kv.get<SessionRecord>("session")!);

describe("the node link", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  const status = async (id: string) => (await api(project.key, "GET", `/v1/sessions/${id}`)).body;
  const actions = async (id: string) => (await callsFor(id)).map((c) => c.action);
  beforeAll(async () => {
    project = await newProject({ name: "link", concurrency: 20 });
  });

  it("welcomes the node with its node token, takes its ready, and tells it the end", async () => {
    const { created, node } = await startSession(project.key, project.projectId);
    expect(created.body.connectUrl).toBe(`ws://edge.test/cdp/${node.sessionId}?signingKey=${created.body.signingKey}`);
    expect(node.link.received[0]).toEqual({ t: "welcome", nodeToken: node.nodeToken });
    // The node token opens its artifact routes; the link token does not.
    const logs = (token: string) => nodeArtifact(node.sessionId, token, "POST", "logs", '{"entries":[]}', { "content-type": "application/json" });
    expect((await logs(node.nodeToken)).status).toBe(200);
    expect((await logs(node.linkToken)).status).toBe(401);
    await api(project.key, "POST", `/v1/sessions/${node.sessionId}`, { status: "REQUEST_RELEASE" });
    expect(await node.link.next((m) => m.t === "end")).toEqual({ t: "end", reason: "released", detail: "released by request" });
  });

  it("tells the node when the session times out at the edge", async () => {
    const { node } = await startSession(project.key, project.projectId);
    await patchRecord(node.sessionId, () => ({ expiresAt: Date.now() - 1 }));
    await runDurableObjectAlarm(sessionObject(node.sessionId));
    expect(await node.link.next((m) => m.t === "end")).toEqual({ t: "end", reason: "timed-out", detail: "the session's timeout passed" });
    expect((await status(node.sessionId)).status).toBe("TIMED_OUT");
  });

  it("a newer link replaces the older (4009), and calls go to the newer; the replaced one's close is no loss", async () => {
    const { node } = await startSession(project.key, project.projectId);
    const newer = await FakeNode.dial(node.sessionId, node.linkToken);
    expect(await node.link.closed).toEqual(LinkClose.replaced);
    expect(newer.nodeToken).toBeTruthy();
    const debug = await api(project.key, "GET", `/v1/sessions/${node.sessionId}/debug`);
    expect(debug.status).toBe(200);
    expect(newer.calls).toEqual([{ op: "json", path: "/json/list" }]);
    expect(node.link.calls).toEqual([]);
    expect(await actions(node.sessionId)).toEqual(["RunTask"]);
    expect((await record(node.sessionId)).linkLostAt).toBeUndefined();
    expect((await status(node.sessionId)).status).toBe("RUNNING");
  });

  it("a drop whose task ECS reports stopped settles the session at once", async () => {
    const { node } = await startSession(project.key, project.projectId);
    await stopOutOfBand(node.sessionId);
    node.link.ws.close(1001, "gone");
    await until(async () => (await status(node.sessionId)).status !== "RUNNING", "the session settles");
    expect((await status(node.sessionId)).status).toBe("ERROR");
    expect(await actions(node.sessionId)).toEqual(["RunTask", "StopTask", "DescribeTasks"]); // the out-of-band stop, then the edge's look
  });

  it("a drop whose task still runs waits for a redial: the node that comes back keeps its session", async () => {
    const { node } = await startSession(project.key, project.projectId);
    node.link.ws.close(1011, "network blip");
    await until(async () => (await record(node.sessionId)).linkLostAt !== undefined, "the loss is recorded");
    expect(await actions(node.sessionId)).toEqual(["RunTask", "DescribeTasks"]);
    const back = await FakeNode.dial(node.sessionId, node.linkToken);
    expect(back.received).toEqual([{ t: "welcome", nodeToken: expect.any(String) }]);
    expect((await record(node.sessionId)).linkLostAt).toBeUndefined();
    await runDurableObjectAlarm(sessionObject(node.sessionId));
    expect((await status(node.sessionId)).status).toBe("RUNNING");
  });

  it("a drop whose task still runs and never redials ends in ERROR and stops the task once the grace passes", async () => {
    const { node } = await startSession(project.key, project.projectId);
    node.link.ws.close(1001, "gone");
    // The object's own alarm ends it (LINK_RECONNECT_GRACE_MS after the drop); the test only waits.
    await until(async () => (await status(node.sessionId)).status !== "RUNNING", "the session settles");
    expect((await status(node.sessionId)).status).toBe("ERROR");
    expect((await record(node.sessionId)).endReason).toBe("node lost its link");
    expect(await actions(node.sessionId)).toEqual(["RunTask", "DescribeTasks", "StopTask"]);
  });

  it("a call in flight fails when the link drops", async () => {
    let asked!: () => void;
    const askedP = new Promise<void>((resolve) => (asked = resolve));
    const { node } = await startSession(project.key, project.projectId, {}, undefined, {
      handler: (call, n) => (call.op === "json" ? (asked(), new Promise(() => {})) : scriptedCalls(call, n)),
    });
    const debug = api(project.key, "GET", `/v1/sessions/${node.sessionId}/debug`);
    await askedP;
    node.link.ws.close(1001, "gone");
    expect(await debug).toMatchObject({ status: 502, body: { message: "The session's browser node did not answer" } });
  });

  it("a node that drops before ready with its task stopped fails the create, which the SDK will not retry", async () => {
    const creating = api(project.key, "POST", "/v1/sessions", {});
    const launched = await nextLaunch(project.projectId);
    const link = await FakeNode.dial(launched.sessionId, launched.linkToken);
    await stopOutOfBand(launched.sessionId);
    link.ws.close(1001, "crashed");
    const created = await creating;
    expect(created.status).toBe(502);
    expect(created.body.message).toMatch(/^The browser node stopped before it was ready: task stopped/);
    expect(created.headers.get("x-should-retry")).toBe("false");
  });

  it("refuses a link without an upgrade, and for a session that does not exist", async () => {
    const { node } = await startSession(project.key, project.projectId);
    const plain = await api(project.key, "GET", nodeLinkPath(node.sessionId));
    expect(plain.status).toBe(401); // the token first: an API key is not a link token
    const stranger = await upgrade(nodeLinkPath(crypto.randomUUID()), { authorization: `Bearer ${node.linkToken}` });
    expect(stranger.res.status).toBe(401);
    const notUpgrade = await call(nodeLinkPath(node.sessionId), { headers: { authorization: `Bearer ${node.linkToken}` } });
    expect(notUpgrade).toMatchObject({ status: 426, body: { message: "Expected a WebSocket upgrade" } });
  });
});
