import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { gzipSync, strToU8, unzipSync } from "fflate";
import { ARTIFACT_LATE_WRITE_GRACE_MS, type ArtifactKind } from "../../edge/node-protocol.ts";
import type { SessionRecord } from "../../edge/sessions/session-record.ts";
import type { SessionObject } from "../../edge/durable/session-object.ts";
import { api, env, EXTENSION_ZIP, newExtension, newProject, nodeArtifact, patchRecord, raw, sessionObject, sha256, startSession, zipOf } from "./helpers.ts";

const release = (key: string, id: string) => api(key, "POST", `/v1/sessions/${id}`, { status: "REQUEST_RELEASE" });
const jsonOf = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });
const logEntry = (n: number) => ({
  method: "Page.navigate",
  pageId: 0,
  sessionId: "CDP-SESSION",
  frameId: "F1",
  loaderId: "L1",
  request: { params: { url: `https://example.com/${n}` }, rawBody: `{"url":"https://example.com/${n}"}`, timestamp: 1000 + n },
  response: { result: { frameId: "F1" }, rawBody: '{"frameId":"F1"}', timestamp: 1001 + n },
  timestamp: 1000 + n,
});
const post = (s: { sessionId: string; nodeToken: string }, kind: ArtifactKind, body: unknown) =>
  nodeArtifact(s.sessionId, s.nodeToken, "POST", kind, JSON.stringify(body), { "content-type": "application/json" }).then(jsonOf);

describe("a session's artifacts", () => {
  let a: Awaited<ReturnType<typeof newProject>>;
  let b: Awaited<ReturnType<typeof newProject>>;
  beforeAll(async () => {
    a = await newProject({ name: "artifacts A", concurrency: 20 });
    b = await newProject({ name: "artifacts B", concurrency: 20 });
  });

  it("refuses a create naming an extension or context that is not the project's, starting nothing", async () => {
    const ofB = await newExtension(b.key);
    const contextOfB = (await api(b.key, "POST", "/v1/contexts", {})).body.id;
    for (const [body, message] of [
      [{ extensionId: ofB }, `extensionId: no extension ${ofB} in this project`],
      [{ browserSettings: { extensionId: "nope" } }, "extensionId: no extension nope in this project"],
      [{ browserSettings: { context: { id: contextOfB } } }, `browserSettings.context.id: no context ${contextOfB} in this project`],
    ] as const)
      expect(await api(a.key, "POST", "/v1/sessions", body)).toMatchObject({ status: 404, body: { message } });
    expect((await api(a.key, "GET", "/v1/sessions")).body).toEqual([]);
  });

  it("lets one session at a time save a context; readers may share it", async () => {
    const id = (await api(a.key, "POST", "/v1/contexts", {})).body.id;
    const writer = await startSession(a.key, a.projectId, { browserSettings: { context: { id, persist: true } } });
    const second = await api(a.key, "POST", "/v1/sessions", { browserSettings: { context: { id, persist: true } } });
    expect(second.status).toBe(409);
    expect(second.headers.get("x-should-retry")).toBe("false");
    expect(second.body.message).toBe(
      `browserSettings.context: context ${id} is open with persist: true in session ${writer.node.sessionId}; ` +
        "one session at a time may save a context (open it with persist: false, or wait for that session to end)",
    );
    const reader = await startSession(a.key, a.projectId, { browserSettings: { context: { id, persist: false } } });
    expect(reader.created.status).toBe(201);
    expect(await nodeArtifact(reader.node.sessionId, reader.node.nodeToken, "PUT", "context", gzipSync(strToU8("x"))).then(jsonOf)).toEqual({
      status: 409,
      body: { message: `The session opened context ${id} with persist: false` },
    });
    // The next writer once this one is over: released, and its node done (context-writers.test.ts has the rest).
    await release(a.key, writer.node.sessionId);
    writer.node.link.exit("released");
    expect((await startSession(a.key, a.projectId, { browserSettings: { context: { id, persist: true } } })).created.status).toBe(201);
  });

  it("gives the node its extension, and its context's profile once one was saved (persisted at the end, read by the next)", async () => {
    const extensionId = await newExtension(a.key);
    const contextId = (await api(a.key, "POST", "/v1/contexts", {})).body.id;
    const first = await startSession(a.key, a.projectId, { extensionId, browserSettings: { context: { id: contextId, persist: true } } });
    const n1 = first.node;
    const zip = await nodeArtifact(n1.sessionId, n1.nodeToken, "GET", "extension");
    expect(zip.status).toBe(200);
    expect(zip.headers.get("content-type")).toBe("application/zip");
    expect(await sha256(await zip.arrayBuffer())).toBe(await sha256(EXTENSION_ZIP));
    expect(await nodeArtifact(n1.sessionId, n1.nodeToken, "GET", "context").then(jsonOf)).toEqual({ status: 404, body: { message: `Context ${contextId} has no saved profile yet` } });

    // The node saves the profile as it exits, after the session ended: within the grace.
    await release(a.key, n1.sessionId);
    const profile = gzipSync(strToU8("cookies and local storage"));
    expect(await nodeArtifact(n1.sessionId, n1.nodeToken, "PUT", "context", profile).then(jsonOf)).toEqual({ status: 200, body: { bytes: profile.length } });
    expect(await nodeArtifact(n1.sessionId, n1.nodeToken, "GET", "extension").then(jsonOf)).toEqual({ status: 409, body: { message: "The session is over (COMPLETED)" } });

    const second = (await startSession(a.key, a.projectId, { browserSettings: { context: { id: contextId } } })).node;
    const saved = await nodeArtifact(second.sessionId, second.nodeToken, "GET", "context");
    expect(await sha256(await saved.arrayBuffer())).toBe(await sha256(profile));
    expect(await nodeArtifact(second.sessionId, second.nodeToken, "GET", "extension").then(jsonOf)).toEqual({ status: 404, body: { message: "The session has no extension" } });
    expect((await nodeArtifact(second.sessionId, second.nodeToken, "PUT", "context", profile)).status).toBe(409);
  });

  it("keeps the node's SessionLog entries in order, field by field, and drops the oldest beyond the bounds", async () => {
    const { node } = await startSession(a.key, a.projectId);
    expect(await post(node, "logs", { entries: [logEntry(1), { method: "Target.attachedToTarget", pageId: 2, sessionId: "S2" }] })).toEqual({
      status: 200,
      body: { accepted: 2, kept: 2 },
    });
    const logs = await api(a.key, "GET", `/v1/sessions/${node.sessionId}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.body).toEqual([logEntry(1), { method: "Target.attachedToTarget", pageId: 2, sessionId: "S2" }]);

    // 11 batches of 1000: the first 1000 (and the two above) are dropped.
    for (let batch = 0; batch < 11; batch++) {
      const entries = Array.from({ length: 1000 }, (_, i) => ({ method: "M", pageId: batch, sessionId: String(i) }));
      expect((await post(node, "logs", { entries })).status).toBe(200);
    }
    const kept = (await api(a.key, "GET", `/v1/sessions/${node.sessionId}/logs`)).body;
    expect(kept.length).toBe(10_000);
    expect(kept[0]).toEqual({ method: "M", pageId: 1, sessionId: "0" });
    expect(kept.at(-1)).toEqual({ method: "M", pageId: 10, sessionId: "999" });

    // By bytes: the DO's own bound, with entries that declare 6 MiB each.
    const big = [1, 2, 3].map((n) => ({ json: JSON.stringify({ method: `big${n}`, pageId: 0, sessionId: "x" }), bytes: 6 * 1024 * 1024 }));
    const stub = sessionObject(node.sessionId) as unknown as DurableObjectStub<SessionObject>;
    expect(await runInDurableObject(stub, (o) => o.appendLogs(big))).toEqual({ ok: true, value: { accepted: 3, kept: 2 } });
    expect((await api(a.key, "GET", `/v1/sessions/${node.sessionId}/logs`)).body.map((e: { method: string }) => e.method)).toEqual(["big2", "big3"]);
  });

  it("refuses bad log batches: a field, too many entries, an entry over its bound, a body over its bound", async () => {
    const { node } = await startSession(a.key, a.projectId);
    expect((await post(node, "logs", { entries: [{ method: "M", pageId: "one", sessionId: "s" }] })).body.message).toMatch(/^entries\.0\.pageId: /);
    expect((await post(node, "logs", { entries: Array.from({ length: 1001 }, () => ({ method: "M", pageId: 0, sessionId: "s" })) })).body.message).toMatch(/^entries: /);
    const huge = { method: "M", pageId: 0, sessionId: "s", request: { params: {}, rawBody: "x".repeat(70_000) } };
    expect(await post(node, "logs", { entries: [logEntry(1), huge] })).toEqual({
      status: 413,
      body: { message: "entries.1: larger than 65536 bytes as JSON (truncate its bodies)" },
    });
    const big = await post(node, "logs", { entries: [{ method: "M", pageId: 0, sessionId: "s", request: { params: {}, rawBody: "x".repeat(9 * 1024 * 1024) } }] });
    expect(big).toEqual({ status: 413, body: { message: `Request body larger than ${8 * 1024 * 1024} bytes` } });
    expect((await api(a.key, "GET", `/v1/sessions/${node.sessionId}/logs`)).body).toEqual([]);
  });

  it("returns the recording as the SDK's SessionRecording, keeping every field the node sent", async () => {
    const { node } = await startSession(a.key, a.projectId);
    expect((await api(a.key, "GET", `/v1/sessions/${node.sessionId}/recording`)).body).toEqual([]);
    const events = [
      { type: 4, timestamp: 1, data: { href: "about:blank", width: 1280, height: 720 }, pageId: "P1" },
      { type: 2, timestamp: 2, data: { node: { id: 1, type: 0, childNodes: [] } }, pageId: "P1", delay: 5 },
    ];
    expect(await post(node, "recording", { events })).toEqual({ status: 200, body: { accepted: 2, kept: 2 } });
    expect(await post(node, "recording", { events: [] })).toEqual({ status: 200, body: { accepted: 0, kept: 2 } });
    expect(await post(node, "recording", { events: [{ type: 3, timestamp: 3, data: null }] })).toEqual({ status: 200, body: { accepted: 1, kept: 3 } });
    const recording = await api(a.key, "GET", `/v1/sessions/${node.sessionId}/recording`);
    expect(recording.status).toBe(200);
    expect(recording.body).toEqual([
      { ...events[0], sessionId: node.sessionId },
      { ...events[1], sessionId: node.sessionId },
      { type: 3, timestamp: 3, data: {}, sessionId: node.sessionId },
    ]);
    expect((await post(node, "recording", { events: [{ type: "full", timestamp: 1, data: {} }] })).body.message).toMatch(/^events\.0\.type: /);
    expect((await post(node, "recording", { events: [{ type: 3, timestamp: 1 }] })).body.message).toMatch(/^events\.0\.data: /);

    // Full: the events already counted leave no room for two more.
    await runInDurableObject(sessionObject(node.sessionId), (_o, state) => {
      const r = state.storage.kv.get<{ next: number; events: number; bytes: number }>("recording")!;
      state.storage.kv.put("recording", { ...r, events: 49_999 });
    });
    const full = await post(node, "recording", { events: [{ type: 3, timestamp: 4, data: {} }, { type: 3, timestamp: 5, data: {} }] });
    expect(full.status).toBe(413);
    expect(full.body.message).toMatch(/^The session's recording is full \(49999 events, \d+ bytes kept; bounds 50000 events, 52428800 bytes\)$/);
  });

  it("records nothing when logSession or recordSession is false", async () => {
    const { node } = await startSession(a.key, a.projectId, { browserSettings: { logSession: false, recordSession: false } });
    expect(await post(node, "logs", { entries: [logEntry(1)] })).toEqual({ status: 409, body: { message: "The session was created with browserSettings.logSession: false" } });
    expect(await post(node, "recording", { events: [{ type: 4, timestamp: 1, data: {} }] })).toEqual({
      status: 409,
      body: { message: "The session was created with browserSettings.recordSession: false" },
    });
    expect((await api(a.key, "GET", `/v1/sessions/${node.sessionId}/logs`)).body).toEqual([]);
    expect((await api(a.key, "GET", `/v1/sessions/${node.sessionId}/recording`)).body).toEqual([]);
  });

  it("serves the node's latest downloads zip, an empty zip before any, and keeps the last good one", async () => {
    const { node } = await startSession(a.key, a.projectId);
    await release(a.key, node.sessionId);
    const empty = await downloadsOf(a.key, node.sessionId);
    expect(empty.type).toBe("application/zip");
    expect(empty.disposition).toBe(`attachment; filename="${node.sessionId}-downloads.zip"`);
    expect(unzipSync(empty.bytes)).toEqual({});

    const first = zipOf({ "report.pdf": "%PDF-1.7 first" });
    expect(await nodeArtifact(node.sessionId, node.nodeToken, "PUT", "downloads", first).then(jsonOf)).toEqual({ status: 200, body: { bytes: first.length } });
    const second = zipOf({ "report.pdf": "%PDF-1.7 first", "data.csv": "a,b\n1,2\n" });
    expect((await nodeArtifact(node.sessionId, node.nodeToken, "PUT", "downloads", second)).status).toBe(200);
    expect(await nodeArtifact(node.sessionId, node.nodeToken, "PUT", "downloads", strToU8("not a zip at all, not at all")).then(jsonOf)).toEqual({
      status: 400,
      body: { message: "downloads: not a zip archive: no end of central directory record" },
    });
    const served = await downloadsOf(a.key, node.sessionId);
    expect(Object.keys(unzipSync(served.bytes)).sort()).toEqual(["data.csv", "report.pdf"]);
    expect(await sha256(served.bytes)).toBe(await sha256(second));
    expect((await env.BLOBS.list({ prefix: `sessions/${node.sessionId}/downloads/` })).objects.length).toBe(1);
  });

  it("takes late writes within the grace after the end, refuses them after it, and removes everything with the record", async () => {
    const { node } = await startSession(a.key, a.projectId);
    expect((await post(node, "logs", { entries: [logEntry(1)] })).status).toBe(200);
    expect((await post(node, "recording", { events: [{ type: 4, timestamp: 1, data: {} }] })).status).toBe(200);
    await release(a.key, node.sessionId);
    expect((await nodeArtifact(node.sessionId, node.nodeToken, "PUT", "downloads", zipOf({ "a.txt": "a" }))).status).toBe(200);
    const stub = sessionObject(node.sessionId);
    await patchRecord(node.sessionId, () => ({ endedAt: Date.now() - ARTIFACT_LATE_WRITE_GRACE_MS - 1000 }));
    const late = await post(node, "logs", { entries: [logEntry(2)] });
    expect(late).toEqual({ status: 409, body: { message: `The session ended more than ${ARTIFACT_LATE_WRITE_GRACE_MS / 1000} s ago (COMPLETED); its artifacts are closed` } });
    expect((await nodeArtifact(node.sessionId, node.nodeToken, "PUT", "downloads", zipOf({ "b.txt": "b" }))).status).toBe(409);
    expect((await api(a.key, "GET", `/v1/sessions/${node.sessionId}/logs`)).body).toEqual([logEntry(1)]);

    expect((await env.BLOBS.list({ prefix: `sessions/${node.sessionId}/` })).objects.length).toBe(2);
    await patchRecord(node.sessionId, () => ({ endedAt: 1 }));
    await runDurableObjectAlarm(stub);
    expect((await env.BLOBS.list({ prefix: `sessions/${node.sessionId}/` })).objects).toEqual([]);
    expect((await api(a.key, "GET", `/v1/sessions/${node.sessionId}/logs`)).status).toBe(404);
  });

  it("answers another project's key 404 and another session's node token 401, on every artifact route", async () => {
    const mine = (await startSession(a.key, a.projectId, { extensionId: await newExtension(a.key) })).node;
    const other = (await startSession(b.key, b.projectId)).node;
    for (const [method, path] of [
      ["GET", "downloads"],
      ["POST", "uploads"],
      ["GET", "logs"],
      ["GET", "recording"],
    ])
      expect(await api(b.key, method, `/v1/sessions/${mine.sessionId}/${path}`), path).toMatchObject({ status: 404, body: { message: "Session not found" } });

    const routes: [string, ArtifactKind, BodyInit?][] = [
      ["GET", "extension"],
      ["GET", "context"],
      ["PUT", "context", gzipSync(strToU8("x"))],
      ["PUT", "downloads", zipOf({ "a.txt": "a" })],
      ["POST", "logs", JSON.stringify({ entries: [logEntry(1)] })],
      ["POST", "recording", JSON.stringify({ events: [] })],
    ];
    for (const [method, kind, body] of routes) {
      const headers = { "content-type": "application/json" };
      expect(await nodeArtifact(mine.sessionId, other.nodeToken, method, kind, body, headers).then(jsonOf), `${method} ${kind}`).toEqual({
        status: 401,
        body: { message: "Invalid node token for this session" },
      });
      expect((await nodeArtifact(mine.sessionId, "", method, kind, body, headers)).status).toBe(401);
    }
    expect((await nodeArtifact(mine.sessionId, mine.nodeToken, "GET", "extension")).status).toBe(200);
    expect((await api(a.key, "GET", `/v1/sessions/${mine.sessionId}/logs`)).body).toEqual([]);
  });
});

/** The downloads zip as the SDK fetches it (`Accept: application/zip`), with its bytes. */
async function downloadsOf(key: string, sessionId: string) {
  const res = await raw(`/v1/sessions/${sessionId}/downloads`, { headers: { "X-BB-API-Key": key, Accept: "application/zip" } });
  expect(res.status).toBe(200);
  return { type: res.headers.get("content-type"), disposition: res.headers.get("content-disposition"), bytes: new Uint8Array(await res.arrayBuffer()) };
}
