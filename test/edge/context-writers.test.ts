/**
 * One writer per context, and the next session starts from the profile the last one saved: a
 * create waits while a writer that just ended is saving, and only the writer may commit.
 */
import { runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { gzipSync, strToU8 } from "fflate";
import { ARTIFACT_LATE_WRITE_GRACE_MS } from "../../edge/node-protocol.ts";
import { PROFILE_SAVE_WAIT_MS, type ContextWriters } from "../../edge/projects/context-writers.ts";
import type { ProjectObject } from "../../edge/durable/project-object.ts";
import { storeProfile } from "../../edge/artifacts/stored-blobs.ts";
import { api, call, env, nextLaunch, newProject, nodeArtifact, readyNode, sha256, startSession, taskEvent, taskOf } from "./helpers.ts";

type Project = Awaited<ReturnType<typeof newProject>>;
const jsonOf = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });
const project = (p: Project) => env.PROJECTS.getByName(p.projectId) as unknown as DurableObjectStub<ProjectObject>;
const release = (p: Project, id: string) => api(p.key, "POST", `/v1/sessions/${id}`, { status: "REQUEST_RELEASE" });
const writing = (contextId: string) => ({ browserSettings: { context: { id: contextId, persist: true } } });
const reading = (contextId: string) => ({ browserSettings: { context: { id: contextId, persist: false } } });
const profileBlobs = async (p: Project, contextId: string) => (await env.BLOBS.list({ prefix: `projects/${p.projectId}/contexts/${contextId}/` })).objects;

/** How many creates of `contextId` wait for a save in the project's object. */
const waitingFor = (p: Project, contextId: string) =>
  runInDurableObject(project(p), (o) => (o as unknown as { writers: ContextWriters }).writers.waitingFor(contextId));

/** Moves the session's end back in the project's index, as if it ended `ago` ms before now. */
const endedAgo = (p: Project, sessionId: string, ago: number) =>
  runInDurableObject(project(p), (_o, state) => {
    state.storage.sql.exec("UPDATE sessions SET ended_at = ? WHERE id = ?", Date.now() - ago, sessionId);
  });

/** Plays the node of a create that was admitted: its RunTask, then its link and `ready`. */
const launched = async (p: Project) => readyNode(await nextLaunch(p.projectId));

describe("a context's writer", () => {
  let a: Project;
  // A project each: a test that fails leaves no create behind for the next one's launches.
  beforeEach(async () => {
    a = await newProject({ name: "context writers", concurrency: 20 });
  });

  /** A context whose writer just ended (released), its node not done yet. */
  async function endedWriter() {
    const contextId = (await api(a.key, "POST", "/v1/contexts", {})).body.id as string;
    const writer = (await startSession(a.key, a.projectId, writing(contextId))).node;
    expect((await release(a, writer.sessionId)).body.status).toBe("COMPLETED");
    return { contextId, writer };
  }

  it("makes a create wait for the save of the writer that just ended: readers and the next writer start from it", async () => {
    const { contextId, writer } = await endedWriter();
    const next = api(a.key, "POST", "/v1/sessions", writing(contextId));
    const reader = api(a.key, "POST", "/v1/sessions", reading(contextId));
    await expect.poll(() => waitingFor(a, contextId)).toBe(2);
    expect((await api(a.key, "GET", "/v1/sessions")).body.map((s: { id: string }) => s.id)).toEqual([writer.sessionId]);

    const profile = gzipSync(strToU8("the cookie the user just set"));
    expect(await nodeArtifact(writer.sessionId, writer.nodeToken, "PUT", "context", profile).then(jsonOf)).toEqual({ status: 200, body: { bytes: profile.length } });
    const nodes = [await launched(a), await launched(a)];
    const [nextId, readerId] = [(await next).body.id, (await reader).body.id];
    expect(nodes.map((n) => n.sessionId).sort()).toEqual([nextId, readerId].sort());
    for (const node of nodes) {
      const served = await nodeArtifact(node.sessionId, node.nodeToken, "GET", "context");
      expect(await sha256(await served.arrayBuffer())).toBe(await sha256(profile));
    }

    // The new writer holds the context: the old one's second save is not kept.
    const nextNode = nodes.find((n) => n.sessionId === nextId)!;
    expect(await nodeArtifact(writer.sessionId, writer.nodeToken, "PUT", "context", gzipSync(strToU8("stale"))).then(jsonOf)).toEqual({
      status: 409,
      body: {
        message:
          `Session ${writer.sessionId} no longer holds context ${contextId} (its save came after the late-write grace, or another session saves the context now); ` +
          "the profile is not kept",
      },
    });
    expect(await profileBlobs(a, contextId)).toHaveLength(1);
    const newer = gzipSync(strToU8("the next writer's profile"));
    await release(a, nextId);
    expect((await nodeArtifact(nextNode.sessionId, nextNode.nodeToken, "PUT", "context", newer)).status).toBe(200);
  });

  it("lets go when the writer's node reports its exit (it saved nothing) or ECS reports its task stopped", async () => {
    const { contextId, writer } = await endedWriter();
    const next = startSession(a.key, a.projectId, writing(contextId));
    await expect.poll(() => waitingFor(a, contextId)).toBe(1);
    writer.link.exit("released");
    const second = await next;
    expect(second.created.status).toBe(201);
    expect(await nodeArtifact(second.node.sessionId, second.node.nodeToken, "GET", "context").then(jsonOf)).toEqual({
      status: 404,
      body: { message: `Context ${contextId} has no saved profile yet` },
    });

    await release(a, second.node.sessionId);
    const reader = startSession(a.key, a.projectId, reading(contextId));
    await expect.poll(() => waitingFor(a, contextId)).toBe(1);
    const { taskArn } = await taskOf(second.node.sessionId);
    expect((await taskEvent({ taskArn, lastStatus: "STOPPED", startedBy: `wc-${second.node.sessionId}` })).status).toBe(200);
    expect((await reader).created.status).toBe(201);
    // A stopped task's save arriving after all is not kept.
    expect((await nodeArtifact(second.node.sessionId, second.node.nodeToken, "PUT", "context", gzipSync(strToU8("late")))).status).toBe(409);
    expect(await profileBlobs(a, contextId)).toEqual([]);
  });

  it("refuses creates (409, not retried) once the save is overdue, and lets go after the late-write grace", async () => {
    const { contextId, writer } = await endedWriter();
    await endedAgo(a, writer.sessionId, PROFILE_SAVE_WAIT_MS + 1000);
    for (const body of [reading(contextId), writing(contextId)]) {
      const refused = await api(a.key, "POST", "/v1/sessions", body);
      expect(refused.status).toBe(409);
      expect(refused.headers.get("x-should-retry")).toBe("false");
      expect(refused.body.message).toMatch(
        new RegExp(
          `^browserSettings\\.context: context ${contextId} is still being saved by session ${writer.sessionId}, which ended at \\S+Z; ` +
            `create the session again once the save lands \\(the context is let go by \\S+Z at the latest\\)$`,
        ),
      );
    }
    // Within its grace the writer may still save.
    expect(await runInDurableObject(project(a), (o) => o.mayCommitProfile(contextId, writer.sessionId))).toEqual({ ok: true, value: null });

    await endedAgo(a, writer.sessionId, ARTIFACT_LATE_WRITE_GRACE_MS + 1000);
    const next = await startSession(a.key, a.projectId, writing(contextId));
    expect(next.created.status).toBe(201);
    // The former writer's save: refused before its body is read, and (had it passed that check) at its commit, its blob deleted.
    expect((await nodeArtifact(writer.sessionId, writer.nodeToken, "PUT", "context", gzipSync(strToU8("too late")))).status).toBe(409);
    const body = new Blob([gzipSync(strToU8("too late"))]).stream() as unknown as AsyncIterable<Uint8Array>;
    await expect(storeProfile(env, a.projectId, contextId, body, writer.sessionId)).rejects.toMatchObject({ status: 409 });
    expect(await profileBlobs(a, contextId)).toEqual([]);
    // A client's upload is not a session's save: it is always kept.
    const uploaded = gzipSync(strToU8("uploaded"));
    const put = await call(`/v1/contexts/${contextId}/profile`, { method: "PUT", headers: { "X-BB-API-Key": a.key, "content-type": "application/gzip" }, body: uploaded });
    expect(put.status).toBe(200);
    expect(await profileBlobs(a, contextId)).toHaveLength(1);
  });
});

