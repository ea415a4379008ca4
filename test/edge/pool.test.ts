/**
 * The warm pool (docs/pool.md) against the real PoolObject, SessionObject and Worker: refill by
 * RunTask, the pool link and its bootstrap token, claims (warm and cold), losses, retirement, task
 * events and the admin view. Each test runs a pool of its own (a region name no other test uses),
 * reached through the app with ECS_REGION and WARM_POOL_SIZE overridden: a pool takes its
 * settings from the Worker that calls it. The stand-in records RunTask; the tests play the members.
 */
import { createExecutionContext, createScheduledController, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../edge/index.ts";
import { NodeEnv, PoolLinkClose, poolLinkPath, TASK_EVENTS_PATH, TASK_EVENTS_SECRET_HEADER } from "../../edge/node-protocol.ts";
import { signingKey, signLinkToken, signPoolLinkToken } from "../../edge/tokens.ts";
import { readConfig } from "../../edge/config.ts";
import { awsCredentials } from "../../edge/aws/aws-call.ts";
import { EcsClient } from "../../edge/aws/ecs-client.ts";
import type { PoolSettings } from "../../edge/pool/pool-settings.ts";
import { REFILL_AFTER_CLAIM_MS } from "../../edge/pool/refill-plan.ts";
import { FakeMember, FakeNode, upgrade } from "./fake-node.ts";
import { call, createWith, env, envOf, newProject, nextLaunch, readyNode, standInCalls, standInTasks, until, type RecordedCall } from "./helpers.ts";

const newPool = () => `pool-${crypto.randomUUID().slice(0, 8)}`;
const settingsOf = (name: string, o: Partial<PoolSettings> = {}): PoolSettings => ({
  name,
  size: 2,
  idleMs: 1_800_000,
  startTimeoutMs: 90_000,
  edgeUrl: "http://edge.test",
  ...o,
});
const varsOf = (s: PoolSettings) => ({ ECS_REGION: s.name, WARM_POOL_SIZE: String(s.size), WARM_POOL_IDLE_SECONDS: String(Math.max(60, s.idleMs / 1000)) });
const pool = (name: string) => env.POOLS.getByName(name);
const wake = async (s: PoolSettings) => expect(await pool(s.name).wake(s)).toEqual({ ok: true, value: null });

/** The pool's member RunTasks (`wp-`), oldest first. */
const memberRuns = async (name: string) =>
  (await standInCalls()).filter((c) => c.action === "RunTask" && c.status === 200 && c.body?.startedBy?.startsWith("wp-") && envOf(c)[NodeEnv.pool] === name);
const stopsOf = async (taskArn: string) => (await standInCalls()).filter((c) => c.action === "StopTask" && c.body?.task === taskArn);
const taskArnOf = async (run: RecordedCall) => (await standInTasks()).find((t) => t.startedBy === run.body.startedBy)!.taskArn as string;

/** Dials the member of `run` and reports it warm; resolves once the pool counts it warm. */
async function warmMember(name: string, run: RecordedCall): Promise<FakeMember> {
  const e = envOf(run);
  const member = await FakeMember.dial(name, e[NodeEnv.memberId], e[NodeEnv.bootstrapToken]);
  member.warm();
  await until(async () => (await state(name)).members.some((m) => m.id === e[NodeEnv.memberId] && m.state === "warm"), "member warm");
  return member;
}

async function state(name: string, settings = settingsOf(name)) {
  const s = await pool(name).state(settings);
  if (!s.ok) throw new Error(s.error.message);
  return s.value;
}

/** Through the app with the pool's vars (the task-events route, the admin API). */
async function callWith(vars: Record<string, string>, path: string, init: RequestInit) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://edge.test${path}`, init), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as any };
}
const taskEventWith = (vars: Record<string, string>, detail: Record<string, unknown>) =>
  callWith(vars, TASK_EVENTS_PATH, {
    method: "POST",
    headers: { "content-type": "application/json", [TASK_EVENTS_SECRET_HEADER]: env.TASK_EVENTS_SECRET! },
    body: JSON.stringify({ "detail-type": "ECS Task State Change", source: "aws.ecs", detail }),
  });

const ecs = () => new EcsClient(readConfig(env).ecs, awsCredentials(env)!);

/** A new pool of one, woken, whose member's link is open and warm. */
async function oneWarmMember(options: { size: number; idleMs?: number }) {
  const s = settingsOf(newPool(), options);
  await wake(s);
  const [run] = await memberRuns(s.name);
  return { s, run, member: await warmMember(s.name, run) };
}

describe("the warm pool", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  beforeAll(async () => {
    project = await newProject({ name: "pool", concurrency: 50 });
  });

  it("refills to WARM_POOL_SIZE: RunTask per member, clientToken = member id, startedBy wp-, no session in the env", async () => {
    const s = settingsOf(newPool());
    await wake(s);
    const runs = await memberRuns(s.name);
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      const e = envOf(run);
      expect(Object.keys(e).sort()).toEqual([NodeEnv.bootstrapToken, NodeEnv.edgeUrl, NodeEnv.memberId, NodeEnv.pool].sort());
      expect(run.clientToken).toBe(e[NodeEnv.memberId]);
      expect(run.body.startedBy).toBe(`wp-${e[NodeEnv.memberId]}`);
    }
    // A repeated RunTask (same clientToken) starts nothing twice.
    const again = await ecs().runTask({ clientToken: runs[0].clientToken!, startedBy: runs[0].body.startedBy, environment: envOf(runs[0]) });
    expect(again.taskArn).toBe(await taskArnOf(runs[0]));
    expect((await standInTasks()).filter((t) => t.startedBy === runs[0].body.startedBy)).toHaveLength(1);
    // Awake again with the pool full: nothing more.
    await wake(s);
    expect(new Set((await memberRuns(s.name)).map((r) => r.clientToken)).size).toBe(2);
    expect(await state(s.name)).toMatchObject({ region: s.name, size: 2, warm: 0, starting: 2 });
  });

  it("refuses a pool link before the upgrade without a valid bootstrap token for that member and pool", async () => {
    const s = settingsOf(newPool(), { size: 1 });
    await wake(s);
    const e = envOf((await memberRuns(s.name))[0]);
    const memberId = e[NodeEnv.memberId];
    const key = await signingKey(env);
    const later = Date.now() + 600_000;
    const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ iss: "wallcrawler-edge", aud: "wallcrawler-pool-link", sub: memberId, pool: s.name, exp: later / 1000 })}.`;
    const refusals: [string, string, string | undefined][] = [
      ["none", poolLinkPath(s.name, memberId), undefined],
      ["another member's", poolLinkPath(s.name, crypto.randomUUID()), e[NodeEnv.bootstrapToken]],
      ["another pool's", poolLinkPath(newPool(), memberId), e[NodeEnv.bootstrapToken]],
      ["a session link token", poolLinkPath(s.name, memberId), await signLinkToken(key, { sessionId: memberId, expiresAtMs: later })],
      ["an expired one", poolLinkPath(s.name, memberId), await signPoolLinkToken(key, { pool: s.name, memberId, expiresAtMs: Date.now() - 1000 })],
      ["alg none", poolLinkPath(s.name, memberId), unsigned],
    ];
    for (const [what, path, token] of refusals) {
      const { res, ws, body } = await upgrade(path, token ? { authorization: `Bearer ${token}` } : {});
      expect(ws, what).toBeUndefined();
      expect(res.status, what).toBe(401);
      expect(body?.message, what).toMatch(/bootstrap token/);
    }
    const plain = await call(poolLinkPath(s.name, memberId), { headers: { authorization: `Bearer ${e[NodeEnv.bootstrapToken]}` } });
    expect(plain.status).toBe(426);
    expect(plain.body).toEqual({ message: "Expected a WebSocket upgrade" });
    await FakeMember.dial(s.name, memberId, e[NodeEnv.bootstrapToken]); // the real one opens it
  });

  it("assigns a warm member at the create, answers once it is ready, starts no task for it, and refills", async () => {
    const { s, run, member } = await oneWarmMember({ size: 1 });
    const creating = createWith(varsOf(s), project.key);
    const assignment = await member.assignment();
    expect(assignment).toMatchObject({ projectId: project.projectId, connectMode: "edge", keepAlive: false, browserSettings: {}, proxies: [] });
    const link = await FakeNode.dial(assignment.sessionId, assignment.linkToken);
    member.handOver();
    link.ready();
    const created = await creating;
    expect(created.status).toBe(201);
    expect(created.body.id).toBe(assignment.sessionId);
    expect(created.body.expiresAt).toBe(new Date(assignment.expiresAt).toISOString());
    expect((await standInCalls()).filter((c) => c.action === "RunTask" && c.body?.startedBy === `wc-${assignment.sessionId}`)).toHaveLength(0);
    // The admin can tell which member and task serve it.
    const node = await callWith({}, `/admin/sessions/${assignment.sessionId}/node`, { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } });
    expect(node).toEqual({
      status: 200,
      body: { sessionId: assignment.sessionId, projectId: project.projectId, status: "RUNNING", pool: s.name, memberId: envOf(run)[NodeEnv.memberId], taskArn: await taskArnOf(run) },
    });
    // The claim refilled the pool behind it.
    await until(async () => (await memberRuns(s.name)).length === 2, "refill after the claim");
    const members = (await state(s.name)).members;
    const claimed = members.find((m) => m.id === envOf(run)[NodeEnv.memberId]);
    expect(claimed?.state).toBe("claimed");
    // ...a moment after it, not while the claimed member takes its session (refill-plan.ts).
    const refillRun = (await memberRuns(s.name))[1];
    const refill = members.find((m) => m.id === envOf(refillRun)[NodeEnv.memberId]);
    expect(Date.parse(refill!.since) - Date.parse(claimed!.since)).toBeGreaterThanOrEqual(REFILL_AFTER_CLAIM_MS);
    // Releasing stops the member's task: the session recorded it.
    await callWith({}, `/v1/sessions/${assignment.sessionId}`, {
      method: "POST",
      headers: { "X-BB-API-Key": project.key, "content-type": "application/json" },
      body: JSON.stringify({ status: "REQUEST_RELEASE" }),
    });
    expect(await stopsOf(await taskArnOf(run))).toHaveLength(1);
  });

  /** A create on a pool of one whose member says `ready` over its pool link, no session link yet (the node still dials it). */
  async function createdOnReadyAhead() {
    const { s, member } = await oneWarmMember({ size: 1 });
    const creating = createWith(varsOf(s), project.key);
    const assignment = await member.assignment();
    member.ready();
    const created = await creating;
    expect(created.status).toBe(201);
    return { member, assignment, created };
  }

  it("answers the create on a `ready` over the pool link; the session's calls wait for its first session link", async () => {
    const { member, assignment, created } = await createdOnReadyAhead();
    expect(created.body).toMatchObject({ id: assignment.sessionId, status: "RUNNING" });
    // A client's call before the node's session link opened waits for it, then goes over it.
    let answered = false;
    const debugging = callWith({}, `/v1/sessions/${assignment.sessionId}/debug`, { headers: { "X-BB-API-Key": project.key } }).finally(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(answered).toBe(false);
    const link = await FakeNode.dial(assignment.sessionId, assignment.linkToken);
    member.handOver();
    const debug = await debugging;
    expect(debug.status).toBe(200);
    expect(debug.body.pages).toHaveLength(1);
    expect(link.calls.map((c) => c.op)).toEqual(["json"]);
    // `welcome` first: a node reads nothing before it, so the waiting call went after it.
    expect(link.received.map((m) => m.t)).toEqual(["welcome", "call"]);
    // The same `ready` again on the session link (a node sends it there too) changes nothing.
    link.ready();
    expect((await callWith({}, `/v1/sessions/${assignment.sessionId}`, { headers: { "X-BB-API-Key": project.key } })).body.status).toBe("RUNNING");
  });

  it("ends the calls that wait for the session's first link when the session ends first (409)", async () => {
    const { assignment } = await createdOnReadyAhead();
    const debugging = callWith({}, `/v1/sessions/${assignment.sessionId}/debug`, { headers: { "X-BB-API-Key": project.key } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await callWith({}, `/v1/sessions/${assignment.sessionId}`, {
      method: "POST",
      headers: { "X-BB-API-Key": project.key, "content-type": "application/json" },
      body: JSON.stringify({ status: "REQUEST_RELEASE" }),
    });
    // 409 from the release, not the 502 its deadline would give (the test below).
    const debug = await debugging;
    expect(debug).toEqual({ status: 409, body: { message: "The session ended before its browser node connected" } });
  });

  it("ignores a `ready` from a member no session claimed: it stays warm", async () => {
    const { s, member } = await oneWarmMember({ size: 1 });
    member.ready();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await state(s.name)).members.find((m) => m.id === member.memberId)?.state).toBe("warm");
    expect(member.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("fails a call whose session link never comes within its deadline (the debug route: 502)", async () => {
    const { assignment } = await createdOnReadyAhead();
    const debug = await callWith({}, `/v1/sessions/${assignment.sessionId}/debug`, { headers: { "X-BB-API-Key": project.key } });
    expect(debug.status).toBe(502);
    expect(debug.body.message).toBe("The session's browser node did not answer");
  });

  it("without a warm member reserves one for the session: one RunTask (wc-, reserved), assigned when its link opens", async () => {
    const s = settingsOf(newPool(), { size: 1 });
    await wake(s); // its member never links: still starting
    const creating = createWith(varsOf(s), project.key);
    const launched = await nextLaunch(project.projectId);
    expect(launched.env).toMatchObject({ [NodeEnv.pool]: s.name, [NodeEnv.memberId]: launched.sessionId, [NodeEnv.reserved]: "1" });
    await readyNode(launched);
    expect((await creating).status).toBe(201);
    expect((await standInCalls()).filter((c) => c.action === "RunTask" && c.clientToken === launched.sessionId)).toHaveLength(1);
  });

  it("answers a repeated claim with the same member and sends nothing twice", async () => {
    const { s, run, member } = await oneWarmMember({ size: 1 });
    const sessionId = crypto.randomUUID();
    const assignment = { sessionId, projectId: "p", expiresAt: Date.now() + 60_000, keepAlive: false, connectMode: "edge" as const, browserSettings: {}, proxies: [], linkToken: "t", jwks: { keys: [] } };
    const first = await pool(s.name).claim(s, { sessionId, assignment });
    const second = await pool(s.name).claim(s, { sessionId, assignment });
    expect(first).toEqual({ ok: true, value: { memberId: envOf(run)[NodeEnv.memberId], taskArn: await taskArnOf(run), warm: true } });
    expect(second).toEqual(first);
    await member.assignment();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(member.received.filter((m) => m.t === "assign")).toHaveLength(1);
  });

  it("forgets a warm member whose link drops, stops its task, and starts another", async () => {
    const { s, run, member } = await oneWarmMember({ size: 1 });
    member.ws.close(1011, "node crashed");
    await until(async () => (await stopsOf(await taskArnOf(run))).length === 1, "StopTask of the lost member");
    await until(async () => (await memberRuns(s.name)).length === 2, "a replacement");
    expect((await state(s.name)).members.map((m) => m.id)).not.toContain(envOf(run)[NodeEnv.memberId]);
  });

  it("fails the create cleanly (502) when the member dies while being assigned, starting nothing twice", async () => {
    const { s, run, member } = await oneWarmMember({ size: 1 });
    const creating = createWith(varsOf(s), project.key);
    const { sessionId } = await member.assignment();
    await ecs().stopTask(await taskArnOf(run), "test: the task died"); // the record runner stops it at once
    member.ws.close(1011, "node crashed");
    const created = await creating;
    expect(created.status).toBe(502);
    expect(created.headers.get("x-should-retry")).toBe("false");
    expect(created.body.message).toMatch(/stopped before it was ready/);
    expect((await standInCalls()).filter((c) => c.action === "RunTask" && c.body?.startedBy === `wc-${sessionId}`)).toHaveLength(0);
  });

  it("retires an idle member (4011, StopTask) and replaces it", async () => {
    const { s, run, member } = await oneWarmMember({ size: 1, idleMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await runDurableObjectAlarm(pool(s.name));
    expect(await member.closed).toEqual({ code: PoolLinkClose.retired.code, reason: PoolLinkClose.retired.reason });
    expect(await stopsOf(await taskArnOf(run))).toHaveLength(1);
    expect(await memberRuns(s.name)).toHaveLength(2);
  });

  it("takes wp- task events: a stopped unclaimed member is forgotten and replaced; an unknown running one is stopped", async () => {
    const s = settingsOf(newPool(), { size: 1 });
    await wake(s);
    const [run] = await memberRuns(s.name);
    const taskArn = await taskArnOf(run);
    const stopped = await taskEventWith(varsOf(s), { taskArn, lastStatus: "STOPPED", startedBy: run.body.startedBy, stoppedReason: "Essential container in task exited" });
    expect(stopped).toEqual({ status: 200, body: { applied: true } });
    await until(async () => (await memberRuns(s.name)).length === 2, "a replacement");
    expect((await state(s.name)).members.map((m) => m.id)).not.toContain(envOf(run)[NodeEnv.memberId]);
    const stray = (await ecs().runTask({ clientToken: crypto.randomUUID(), startedBy: `wp-${crypto.randomUUID()}`, environment: {} })).taskArn;
    await taskEventWith(varsOf(s), { taskArn: stray, lastStatus: "RUNNING", startedBy: `wp-${crypto.randomUUID()}` });
    expect(await stopsOf(stray)).toHaveLength(1);
  });

  it("passes a claimed member's task events to its session", async () => {
    const { s, run, member } = await oneWarmMember({ size: 1 });
    const creating = createWith(varsOf(s), project.key);
    const { sessionId } = await member.assignment();
    await taskEventWith(varsOf(s), { taskArn: await taskArnOf(run), lastStatus: "STOPPED", startedBy: run.body.startedBy, stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited" });
    expect((await creating).status).toBe(502);
    expect((await env.SESSIONS.getByName(sessionId).get(project.projectId)).ok).toBe(true);
  });

  it("shows each pool to the admin: counts, members by state, never a token", async () => {
    const s = settingsOf(newPool(), { size: 2 });
    await wake(s);
    await warmMember(s.name, (await memberRuns(s.name))[0]);
    const res = await callWith(varsOf(s), "/admin/pools", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      {
        region: s.name,
        size: 2,
        warm: 1,
        starting: 1,
        claimedLastHour: 0,
        members: expect.arrayContaining([
          { id: expect.any(String), state: "warm", since: expect.any(String) },
          { id: expect.any(String), state: "starting", since: expect.any(String) },
        ]),
      },
    ]);
    expect(JSON.stringify(res.body)).not.toMatch(/eyJ/);
    expect((await callWith(varsOf(s), "/admin/pools", {})).status).toBe(401);
  });

  it("answers the admin's question about a session's node with 404 for no such session, 401 without the token", async () => {
    const admin = { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } };
    expect(await callWith({}, `/admin/sessions/${crypto.randomUUID()}/node`, admin)).toEqual({ status: 404, body: { message: "Session not found" } });
    expect(await callWith({}, "/admin/sessions/not-a-session/node", admin)).toEqual({ status: 404, body: { message: "Session not found" } });
    expect((await callWith({}, `/admin/sessions/${crypto.randomUUID()}/node`, {})).status).toBe(401);
  });

  it("with WARM_POOL_SIZE=0 starts no member, and creates still work (cold)", async () => {
    const s = settingsOf(newPool(), { size: 0 });
    await wake(s);
    expect(await memberRuns(s.name)).toHaveLength(0);
    const creating = createWith(varsOf(s), project.key);
    await readyNode(await nextLaunch(project.projectId));
    expect((await creating).status).toBe(201);
    expect(await memberRuns(s.name)).toHaveLength(0);
    // Only the session's own (reserved, then claimed) member: none was started for the pool.
    expect(await state(s.name, s)).toMatchObject({ size: 0, warm: 0, starting: 0, members: [{ state: "claimed" }] });
  });

  it("is woken by the Worker's cron", async () => {
    const s = settingsOf(newPool(), { size: 1 });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController(), { ...env, ...varsOf(s), EDGE_PUBLIC_URL: "http://edge.test" }, ctx);
    await waitOnExecutionContext(ctx);
    expect(await memberRuns(s.name)).toHaveLength(1);
  });
});
