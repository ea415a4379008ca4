import { runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { SessionRecord } from "../../edge/sessions/session-record.ts";
import { nodeChannelPath, nodeLinkPath } from "../../edge/node-protocol.ts";
import { upgrade } from "./fake-node.ts";
import { api, callsFor, env, newProject, patchRecord, sessionObject, startSession, taskEvent, taskOf, until } from "./helpers.ts";

/** Moves a session's clock: rewrites its record as if time had passed, then lets its alarm run. */
async function age(id: string, change: (r: SessionRecord) => Partial<SessionRecord>) {
  await patchRecord(id, change);
  return runDurableObjectAlarm(sessionObject(id));
}

const stopsOf = async (id: string) => (await callsFor(id)).filter((c) => c.action === "StopTask");

describe("state transitions and alarms", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  const known = new Set<string>();
  const running = async (body: unknown = {}) => startSession(project.key, project.projectId, body, known);
  const status = async (id: string) => (await api(project.key, "GET", `/v1/sessions/${id}`)).body;
  beforeAll(async () => {
    project = await newProject({ name: "transitions", concurrency: 50 });
  });

  it("ends at expiresAt: TIMED_OUT and StopTask, even with no word from the node", async () => {
    const { created } = await running({ timeout: 60 });
    const id = created.body.id;
    expect(await runDurableObjectAlarm(sessionObject(id))).toBe(true); // early: nothing changes
    expect((await status(id)).status).toBe("RUNNING");
    await age(id, () => ({ expiresAt: Date.now() - 1 }));
    const ended = await status(id);
    expect(ended).toMatchObject({ status: "TIMED_OUT", endedAt: expect.any(String) });
    expect(ended.connectUrl).toBeUndefined();
    expect(await stopsOf(id)).toHaveLength(1);
  });

  it("maps node exits to statuses, and a finished session ignores every later report", async () => {
    const cases = [
      ["idle", "COMPLETED"],
      ["timed-out", "TIMED_OUT"],
      ["browser-crashed", "ERROR"],
    ] as const;
    for (const [reason, expected] of cases) {
      const { created, node } = await running();
      const id = created.body.id;
      node.link.exit(reason, "test");
      await until(async () => (await status(id)).status === expected);
      const ended = await status(id);
      // Replayed and late reports: nothing moves, and a ready after the end is told the session is over.
      node.link.exit("released");
      node.link.ready();
      expect(await node.link.closed).toEqual({ code: 4010, reason: "session over" });
      const taskArn = (await taskOf(id)).taskArn;
      expect((await taskEvent({ taskArn, lastStatus: "STOPPED", startedBy: `wc-${id}`, containers: [{ exitCode: 0 }] })).status).toBe(200);
      expect(await status(id)).toEqual(ended);
      // A node of a finished session that dials again is sent away at once.
      const late = await upgrade(nodeLinkPath(id), { authorization: `Bearer ${node.linkToken}` });
      expect(await new Promise((resolve) => late.ws!.addEventListener("close", (e) => resolve(e.code)))).toBe(4010);
      expect(node.link.received.filter((m) => m.t === "end")).toEqual([]); // it reported the end itself
    }
  });

  it("repeated ready and unreadable messages are harmless; only this session's link token opens its link", async () => {
    const first = await running();
    const second = await running();
    const id = first.created.body.id;
    first.node.link.ready({ direct: { host: "10.9.9.9", port: 1 } });
    first.node.link.ws.send("not json");
    first.node.link.ws.send(JSON.stringify({ t: "exit", reason: "bored" }));
    first.node.link.ws.send(new Uint8Array([1, 2, 3]));
    const refused = async (token: string) => (await upgrade(nodeLinkPath(id), { authorization: `Bearer ${token}` })).res.status;
    expect(await refused(second.node.linkToken)).toBe(401);
    expect(await refused(`${first.node.linkToken.slice(0, -4)}AAAA`)).toBe(401);
    expect(await refused(first.created.body.signingKey)).toBe(401); // a CDP token is not a link token
    expect(await refused(first.node.nodeToken)).toBe(401); // nor is the node token
    const noToken = await upgrade(nodeLinkPath(id));
    expect(noToken).toMatchObject({ res: { status: 401 }, body: { message: "Missing link token" } });
    // ... and the link token opens nothing else: not a channel, not an artifact route.
    const channel = await upgrade(nodeChannelPath(id, crypto.randomUUID()), { authorization: `Bearer ${first.node.linkToken}` });
    expect(channel.res.status).toBe(401);
    expect((await api(project.key, "GET", `/v1/sessions/${id}`)).body.connectUrl).toBe(first.created.body.connectUrl);
    expect((await status(id)).status).toBe("RUNNING");
    expect(first.node.link.received.map((m) => m.t)).toEqual(["welcome"]);
  });

  it("takes ECS task events with the secret only, and settles sessions from them", async () => {
    const { created } = await running();
    const id = created.body.id;
    const taskArn = (await taskOf(id)).taskArn;
    const stopped = { taskArn, lastStatus: "STOPPED", startedBy: `wc-${id}`, stopCode: "EssentialContainerExited", containers: [{ exitCode: 137 }] };
    expect((await taskEvent(stopped, "wrong-secret")).status).toBe(401);
    expect((await status(id)).status).toBe("RUNNING");
    expect((await taskEvent({ ...stopped, taskArn: `${taskArn}-other` })).body).toEqual({ applied: true });
    expect((await status(id)).status).toBe("RUNNING"); // another task's event changes nothing
    expect((await taskEvent({ ...stopped, startedBy: "someone-else" })).body).toEqual({ applied: false });
    expect((await taskEvent(stopped)).status).toBe(200);
    const ended = await status(id);
    expect(ended.status).toBe("ERROR");
    expect(await stopsOf(id)).toHaveLength(0); // ECS already stopped it
    expect((await taskEvent({ ...stopped, containers: [{ exitCode: 0 }] })).status).toBe(200);
    expect(await status(id)).toEqual(ended);
  });

  it("stops a task that reports RUNNING after its session ended", async () => {
    const { created } = await running();
    const id = created.body.id;
    await api(project.key, "POST", `/v1/sessions/${id}`, { status: "REQUEST_RELEASE" });
    expect(await stopsOf(id)).toHaveLength(1);
    const taskArn = (await taskOf(id)).taskArn;
    await taskEvent({ taskArn, lastStatus: "RUNNING", desiredStatus: "RUNNING", startedBy: `wc-${id}` });
    expect(await stopsOf(id)).toHaveLength(2);
    expect((await status(id)).status).toBe("COMPLETED");
  });

  it("removes a finished session after the retention period, keeping its minutes in usage", async () => {
    const { created } = await running();
    const id = created.body.id;
    await api(project.key, "POST", `/v1/sessions/${id}`, { status: "REQUEST_RELEASE" });
    const usageBefore = (await api(project.key, "GET", `/v1/projects/${project.projectId}/usage`)).body;
    const retention = Number(env.SESSION_RETENTION_DAYS) * 86_400_000;
    await age(id, (r) => ({ endedAt: r.endedAt! - retention - 1, createdAt: r.createdAt - retention - 1 - 180_000 }));
    expect((await api(project.key, "GET", `/v1/sessions/${id}`)).status).toBe(404);
    const listed = (await api(project.key, "GET", "/v1/sessions")).body.map((s: { id: string }) => s.id);
    expect(listed).not.toContain(id);
    const usageAfter = (await api(project.key, "GET", `/v1/projects/${project.projectId}/usage`)).body;
    expect(usageAfter.browserMinutes).toBeGreaterThanOrEqual(usageBefore.browserMinutes);
    expect(await runDurableObjectAlarm(sessionObject(id))).toBe(false);
  });
});

