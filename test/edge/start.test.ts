import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../edge/index.ts";
import { inject } from "vitest";
import { beforeAll, describe, expect, it } from "vitest";
import { FakeNode } from "./fake-node.ts";
import { api, callsFor, createWith, env, newProject, nextLaunch, patchRecord, readyNode, sessionObject, standInCalls, standInTasks, startSession } from "./helpers.ts";

/** Faults for the next session RunTasks whose member boots with `edgeUrl` (a test's own EDGE_PUBLIC_URL). */
const faults = (edgeUrl: string, list: string[]) =>
  fetch(`${inject("ecsUrl")}/_faults`, { method: "POST", body: JSON.stringify({ edgeUrl, faults: list }) });
const ownEdge = () => `http://edge-${crypto.randomUUID()}.test`;

const tasksOf = async (id: string) => (await standInTasks()).filter((t) => t.startedBy === `wc-${id}`);

describe("starting a session", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  const known = new Set<string>();
  const status = async (id: string) => (await api(project.key, "GET", `/v1/sessions/${id}`)).body.status;
  beforeAll(async () => {
    project = await newProject({ name: "start", concurrency: 50 });
  });

  it("at the start deadline: ERROR, StopTask, and an answer the SDK will not retry", async () => {
    const creating = api(project.key, "POST", "/v1/sessions", {});
    const { sessionId } = await nextLaunch(project.projectId, known);
    const stub = sessionObject(sessionId);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // before the deadline: still waiting
    expect(await status(sessionId)).toBe("PENDING");
    await patchRecord(sessionId, () => ({ startDeadline: Date.now() - 1 }));
    await runDurableObjectAlarm(stub);
    const created = await creating;
    expect(created.status).toBe(504);
    expect(created.headers.get("x-should-retry")).toBe("false");
    expect(created.body).toEqual({ message: expect.stringMatching(/did not become ready within \d+ seconds/) });
    expect(await status(sessionId)).toBe("ERROR");
    expect((await callsFor(sessionId)).filter((c) => c.action === "StopTask")).toHaveLength(1);
  });

  it("retries throttled and lost RunTask calls with the same clientToken: one task, one session", async () => {
    const retrying = await newProject({ name: "retrying" });
    const edge = ownEdge();
    await faults(edge, ["throttle", "lost"]);
    const creating = createWith({ EDGE_PUBLIC_URL: edge }, retrying.key);
    const node = await readyNode(await nextLaunch(retrying.projectId));
    const created = await creating;
    expect(created.status).toBe(201);
    const runs = (await standInCalls()).filter((c) => c.action === "RunTask" && c.body.startedBy === `wc-${node.sessionId}`);
    expect(runs.length).toBe(2); // the throttled attempt never reached ECS; the lost one did
    expect(new Set(runs.map((r) => r.clientToken))).toEqual(new Set([node.sessionId]));
    expect(await tasksOf(node.sessionId)).toHaveLength(1);
  });

  it("treats RunTask's HTTP 200 with failures as a failed start that started nothing", async () => {
    const short = await newProject({ name: "no-capacity" });
    const edge = ownEdge();
    await faults(edge, ["capacity"]);
    const created = await createWith({ EDGE_PUBLIC_URL: edge }, short.key);
    expect(created.status).toBe(503);
    expect(created.headers.get("x-should-retry")).toBe("true");
    expect(created.body.message).toMatch(/RESOURCE:MEMORY/);
    const [session] = (await api(short.key, "GET", "/v1/sessions")).body;
    expect(session.status).toBe("ERROR");
    expect(await tasksOf(session.id)).toHaveLength(0);
  });

  it("gives up after the last throttled attempt without starting anything", async () => {
    const throttled = await newProject({ name: "throttled" });
    const edge = ownEdge();
    await faults(edge, ["throttle", "throttle", "throttle", "throttle"]);
    const created = await createWith({ EDGE_PUBLIC_URL: edge }, throttled.key);
    expect(created.status).toBe(503);
    expect(created.body.message).toMatch(/ThrottlingException/);
    const [session] = (await api(throttled.key, "GET", "/v1/sessions")).body;
    expect(session.status).toBe("ERROR");
    expect(await tasksOf(session.id)).toHaveLength(0);
  });

  it("answers a node that failed before ready with a final error", async () => {
    const creating = api(project.key, "POST", "/v1/sessions", {});
    const node = await nextLaunch(project.projectId, known);
    const link = await FakeNode.dial(node.sessionId, node.linkToken);
    link.exit("not-ready", "Chromium did not start");
    const created = await creating;
    expect(created).toMatchObject({ status: 502, body: { message: "The browser node could not start: not-ready (Chromium did not start)" } });
    expect(created.headers.get("x-should-retry")).toBe("false");
    expect(await status(node.sessionId)).toBe("ERROR");
  });

  it("ends a pending session whose create nobody waits for any more", async () => {
    const creating = api(project.key, "POST", "/v1/sessions", {});
    const { sessionId } = await nextLaunch(project.projectId, known);
    await sessionObject(sessionId).abandon();
    expect((await creating).headers.get("x-should-retry")).toBe("false");
    expect(await status(sessionId)).toBe("ERROR");
    expect((await callsFor(sessionId)).filter((c) => c.action === "StopTask")).toHaveLength(1);
  });

  it("answers a create whose session was released before ready with 409, not retried", async () => {
    const creating = api(project.key, "POST", "/v1/sessions", {});
    const { sessionId } = await nextLaunch(project.projectId, known);
    expect((await api(project.key, "POST", `/v1/sessions/${sessionId}`, { status: "REQUEST_RELEASE" })).body.status).toBe("COMPLETED");
    const created = await creating;
    expect(created.status).toBe(409);
    expect(created.headers.get("x-should-retry")).toBe("false");
  });
});

describe("the stand-in and its record", () => {
  it("serve a session's node token to nobody but this run's tests", async () => {
    const project = await newProject({ name: "record" });
    const { node } = await startSession(project.key, project.projectId, {});
    expect(node.nodeToken.split(".")).toHaveLength(3); // the tests hold the real token, from the record
    // The stand-in, which any local session's browser can reach, has no unsigned routes left.
    for (const path of ["/_standin/calls", "/_standin/tasks"]) {
      const res = await fetch(`${inject("standInUrl")}${path}`);
      expect(res.status, path).toBe(400);
      expect(await res.text(), path).not.toContain(node.nodeToken);
    }
    const { url } = inject("standInRecord");
    for (const authorization of [undefined, "Bearer wrong", `Bearer ${env.ADMIN_TOKEN}`]) {
      const res = await fetch(`${url}/calls`, { headers: authorization ? { authorization } : {} });
      expect(res.status, authorization).toBe(401);
      expect(await res.json()).toEqual({ message: "The stand-in's record needs this run's secret" });
    }
  });
});

describe("the concurrency limit", () => {
  it("counts PENDING and RUNNING sessions, answers 429, and frees the slot on release", async () => {
    const limited = await newProject({ name: "limited", concurrency: 2 });
    const known = new Set<string>();
    const first = (await startSession(limited.key, limited.projectId, {}, known)).created.body;
    const pending = api(limited.key, "POST", "/v1/sessions", {});
    const second = await nextLaunch(limited.projectId, known);
    const refused = await api(limited.key, "POST", "/v1/sessions", {});
    expect(refused.status).toBe(429);
    expect(refused.body.message).toMatch(/concurrent sessions limit \(limit 2, currently 2\)/);
    await api(limited.key, "POST", `/v1/sessions/${first.id}`, { status: "REQUEST_RELEASE" });
    await readyNode(second);
    expect((await pending).status).toBe(201);
    expect((await startSession(limited.key, limited.projectId, {}, known)).created.status).toBe(201);
  });

  it("admits exactly one of two simultaneous creates for the last slot", async () => {
    const single = await newProject({ name: "single", concurrency: 1 });
    const creates = [api(single.key, "POST", "/v1/sessions", {}), api(single.key, "POST", "/v1/sessions", {})];
    await readyNode(await nextLaunch(single.projectId));
    const statuses = (await Promise.all(creates)).map((r) => r.status).sort();
    expect(statuses).toEqual([201, 429]);
  });
});

describe("a create whose client goes away", () => {
  it("stops the browser it started (request.signal → abandon)", async () => {
    const project = await newProject({ name: "gave-up" });
    const giveUp = new AbortController();
    const ctx = createExecutionContext();
    const request = new Request("http://edge.test/v1/sessions", {
      method: "POST",
      headers: { "X-BB-API-Key": project.key, "content-type": "application/json" },
      body: "{}",
      signal: giveUp.signal,
    });
    // The app itself, in this isolate, so the test holds the request's signal as Cloudflare would.
    const answer = worker.fetch(request, env, ctx);
    const { sessionId } = await nextLaunch(project.projectId);
    giveUp.abort();
    await waitOnExecutionContext(ctx);
    const res = await answer;
    expect(res.headers.get("x-should-retry")).toBe("false");
    expect((await api(project.key, "GET", `/v1/sessions/${sessionId}`)).body.status).toBe("ERROR");
    expect((await callsFor(sessionId)).filter((c) => c.action === "StopTask")).toHaveLength(1);
  });
});
