import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { SessionRecord } from "../../edge/sessions/session-record.ts";
import { EcsClient } from "../../edge/aws/ecs-client.ts";
import { awsCredentials } from "../../edge/aws/aws-call.ts";
import { readConfig } from "../../edge/config.ts";
import { api, callsFor, env, newProject, nodeCall, sessionObject, startSession, taskEvent, taskOf } from "./helpers.ts";

/** Moves a session's clock: rewrites its record as if time had passed, then lets its alarm run. */
async function age(id: string, change: (r: SessionRecord) => Partial<SessionRecord>) {
  const stub = sessionObject(id);
  await runInDurableObject(stub, (_o, state) => {
    const r = state.storage.kv.get<SessionRecord>("session")!;
    state.storage.kv.put("session", { ...r, ...change(r) });
  });
  return runDurableObjectAlarm(stub);
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

  it("checks the task when heartbeats stop: a running task keeps the session, a stopped one ends it", async () => {
    const { created, node } = await running();
    const id = created.body.id;
    expect((await nodeCall(id, node.nodeToken, "heartbeat", {})).body).toEqual({ end: false });
    const heartbeatTimeout = Number(env.HEARTBEAT_TIMEOUT_SECONDS) * 1000;
    await age(id, () => ({ lastHeartbeatAt: Date.now() - heartbeatTimeout - 1 }));
    expect((await status(id)).status).toBe("RUNNING");
    const described = (await callsFor(id)).filter((c) => c.action === "DescribeTasks");
    expect(described).toHaveLength(1);
    expect(described[0]).toMatchObject({ status: 200, body: { cluster: "wallcrawler", tasks: [(await taskOf(id)).taskArn] } });

    // The task dies without a word (the stand-in stops it as ECS would): the next check ends the session.
    await stopOutOfBand((await taskOf(id)).taskArn);
    await age(id, (r) => ({ lastHeartbeatAt: Date.now() - heartbeatTimeout - 1, taskCheckedAt: r.taskCheckedAt! - heartbeatTimeout - 1 }));
    const ended = await status(id);
    expect(ended.status).toBe("ERROR");
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
      const exit = await nodeCall(id, node.nodeToken, "exit", { reason, detail: "test" });
      expect(exit).toMatchObject({ status: 200, body: { status: expected } });
      const ended = await status(id);
      expect(ended.status).toBe(expected);
      // Replayed and late reports: nothing moves.
      expect((await nodeCall(id, node.nodeToken, "exit", { reason: "released" })).body).toEqual({ status: expected });
      expect((await nodeCall(id, node.nodeToken, "ready", { host: "127.0.0.1", port: 1, browserVersion: "x" })).status).toBe(409);
      expect((await nodeCall(id, node.nodeToken, "heartbeat", {})).body).toEqual({ end: true });
      const taskArn = (await taskOf(id)).taskArn;
      expect((await taskEvent({ taskArn, lastStatus: "STOPPED", startedBy: `wc-${id}`, containers: [{ exitCode: 0 }] })).status).toBe(200);
      expect(await status(id)).toEqual(ended);
    }
  });

  it("repeated ready is harmless; a token of another session is refused", async () => {
    const first = await running();
    const second = await running();
    const id = first.created.body.id;
    const again = await nodeCall(id, first.node.nodeToken, "ready", { host: "10.9.9.9", port: 1, browserVersion: "x" });
    expect(again).toMatchObject({ status: 200, body: { status: "RUNNING" } });
    expect((await status(id)).connectUrl).toBe(first.created.body.connectUrl);
    const forged = await nodeCall(id, second.node.nodeToken, "exit", { reason: "error" });
    expect(forged).toMatchObject({ status: 401, body: { message: "Invalid node token for this session" } });
    const garbage = await nodeCall(id, `${first.node.nodeToken.slice(0, -4)}AAAA`, "exit", { reason: "error" });
    expect(garbage.status).toBe(401);
    expect((await nodeCall(id, first.created.body.signingKey, "exit", { reason: "error" })).status).toBe(401); // a CDP token is not a node token
    expect((await nodeCall(id, first.node.nodeToken, "exit", { reason: "bored" })).body.message).toMatch(/^reason: /);
    expect((await status(id)).status).toBe("RUNNING");
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

/** A task stopped behind the edge's back (a console click, a Fargate retirement). */
const stopOutOfBand = (taskArn: string) => new EcsClient(readConfig(env).ecs, awsCredentials(env)!).stopTask(taskArn, "killed out of band");
