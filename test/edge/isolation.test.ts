import { beforeAll, describe, expect, it } from "vitest";
import { nodeChannelPath, nodeLinkPath } from "../../edge/node-protocol.ts";
import { upgrade } from "./fake-node.ts";
import { api, newProject, nodeArtifact, startSession, taskEvent, taskOf } from "./helpers.ts";

describe("tenant isolation", () => {
  let a: Awaited<ReturnType<typeof newProject>>;
  let b: Awaited<ReturnType<typeof newProject>>;
  let sessionOfA: { id: string; connectUrl: string };
  let nodeOfA: { nodeToken: string; linkToken: string };
  beforeAll(async () => {
    a = await newProject({ name: "tenant A" });
    b = await newProject({ name: "tenant B" });
    const started = await startSession(a.key, a.projectId, { userMetadata: { owner: "a" } });
    sessionOfA = started.created.body;
    nodeOfA = started.node;
  });

  it("project B's key never reads, lists, releases or debugs project A's session", async () => {
    const id = sessionOfA.id;
    expect(await api(b.key, "GET", `/v1/sessions/${id}`)).toMatchObject({ status: 404, body: { message: "Session not found" } });
    expect(await api(b.key, "GET", `/v1/sessions/${id}/debug`)).toMatchObject({ status: 404, body: { message: "Session not found" } });
    expect(await api(b.key, "POST", `/v1/sessions/${id}`, { status: "REQUEST_RELEASE" })).toMatchObject({ status: 404 });
    expect(await api(b.key, "POST", `/v1/sessions/${id}`, { status: "REQUEST_RELEASE", projectId: a.projectId })).toMatchObject({ status: 403 });
    const listed = await api(b.key, "GET", "/v1/sessions");
    expect(listed.body.map((s: { id: string }) => s.id)).not.toContain(id);
    expect((await api(b.key, "GET", "/v1/sessions?q=" + encodeURIComponent("user_metadata['owner']:'a'"))).body).toEqual([]);
    expect((await api(a.key, "GET", `/v1/sessions/${id}`)).body.status).toBe("RUNNING");
  });

  it("project B's key never sees project A", async () => {
    expect((await api(b.key, "GET", `/v1/projects/${a.projectId}`)).status).toBe(404);
    expect((await api(b.key, "GET", `/v1/projects/${a.projectId}/usage`)).status).toBe(404);
    expect((await api(b.key, "GET", "/v1/projects")).body.map((p: { id: string }) => p.id)).toEqual([b.projectId]);
  });

  it("a session's tokens open no other session's link, channels or artifacts", async () => {
    const other = await startSession(b.key, b.projectId);
    const id = other.created.body.id;
    const link = await upgrade(nodeLinkPath(id), { authorization: `Bearer ${nodeOfA.linkToken}` });
    expect(link).toMatchObject({ ws: undefined, res: { status: 401 }, body: { message: "Invalid link token for this session" } });
    const channel = await upgrade(nodeChannelPath(id, crypto.randomUUID()), { authorization: `Bearer ${nodeOfA.nodeToken}` });
    expect(channel).toMatchObject({ ws: undefined, res: { status: 401 }, body: { message: "Invalid node token for this session" } });
    expect((await nodeArtifact(id, nodeOfA.nodeToken, "POST", "logs", '{"entries":[]}', { "content-type": "application/json" })).status).toBe(401);
    expect(other.node.link.calls).toEqual([]);
    expect((await api(b.key, "GET", `/v1/sessions/${id}`)).body.status).toBe("RUNNING");
  });

  it("a task event for A's task named with B's session changes neither", async () => {
    const other = await startSession(b.key, b.projectId);
    const taskOfA = (await taskOf(sessionOfA.id)).taskArn;
    await taskEvent({ taskArn: taskOfA, lastStatus: "STOPPED", startedBy: `wc-${other.created.body.id}` });
    expect((await api(b.key, "GET", `/v1/sessions/${other.created.body.id}`)).body.status).toBe("RUNNING");
    expect((await api(a.key, "GET", `/v1/sessions/${sessionOfA.id}`)).body.status).toBe("RUNNING");
  });
});

describe("projects API", () => {
  it("lists, retrieves and reports usage of the key's project in the Browserbase shape", async () => {
    const p = await newProject({ name: "shape", concurrency: 3, defaultTimeout: 900 });
    const listed = await api(p.key, "GET", "/v1/projects");
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([
      { id: p.projectId, name: "shape", ownerId: "wallcrawler", concurrency: 3, defaultTimeout: 900, createdAt: expect.any(String), updatedAt: expect.any(String) },
    ]);
    expect((await api(p.key, "GET", `/v1/projects/${p.projectId}`)).body).toEqual(listed.body[0]);
    expect((await api(p.key, "GET", `/v1/projects/${p.projectId}/usage`)).body).toEqual({ browserMinutes: 0, proxyBytes: 0 });
    const { created } = await startSession(p.key, p.projectId);
    await api(p.key, "POST", `/v1/sessions/${created.body.id}`, { status: "REQUEST_RELEASE" });
    expect((await api(p.key, "GET", `/v1/projects/${p.projectId}/usage`)).body).toEqual({ browserMinutes: 1, proxyBytes: 0 });
  });
});
