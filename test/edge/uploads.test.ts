/**
 * Uploads put on a running session's node, and the downloads flush asked of it: both over the
 * node's link. The upload is staged in R2; the fake node (fake-node.ts) fetches it with its node
 * token as a node does.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { unzipSync } from "fflate";
import { ArtifactLimits, nodeStagedUploadPath } from "../../edge/node-protocol.ts";
import { fetchedUploads, fetchStagedUpload, scriptedCalls, type CallHandler } from "./fake-node.ts";
import { api, env, newProject, nodeArtifact, raw, sha256, startSession, upload, zipOf } from "./helpers.ts";

const staged = async (sessionId: string) => (await env.BLOBS.list({ prefix: `sessions/${sessionId}/uploads/` })).objects.map((o) => o.key);

describe("uploads to a running session", () => {
  let p: Awaited<ReturnType<typeof newProject>>;
  let session: Awaited<ReturnType<typeof startSession>>["node"];
  /** What the node's next `upload` call does; by default it fetches the staged file. */
  let onUpload: CallHandler | undefined;
  beforeAll(async () => {
    p = await newProject({ name: "uploads", concurrency: 10 });
    const handler: CallHandler = (call, node) => (call.op === "upload" && onUpload ? onUpload(call, node) : scriptedCalls(call, node));
    session = (await startSession(p.key, p.projectId, {}, undefined, { handler })).node;
  });

  it("stages the file, has the node fetch it with its node token, names where the page can take it, and deletes the staged copy", async () => {
    const bytes = new Uint8Array(300_000);
    for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const name = `invoice-${crypto.randomUUID()}.pdf`;
    const res = await upload(p.key, `/v1/sessions/${session.sessionId}/uploads`, { file: new File([bytes], `../../${name}`, { type: "application/pdf" }) });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["message"]);
    expect(res.body.message).toBe(
      `Uploaded ${name} to the session's browser at /tmp/wallcrawler-uploads/${name}: set that path on a file input (CDP DOM.setFileInputFiles, Puppeteer uploadFile).`,
    );
    expect(session.link.calls).toContainEqual({ op: "upload", name });
    const [got] = fetchedUploads.filter((u) => u.name === name);
    expect(got.sessionId).toBe(session.sessionId);
    expect(await sha256(got.bytes)).toBe(await sha256(bytes));
    expect(await staged(session.sessionId)).toEqual([]);
  });

  it("serves a staged file only to the session's node token", async () => {
    let holding!: () => void;
    const released = new Promise<void>((resolve) => (holding = resolve));
    const answers: number[] = [];
    onUpload = async (call, node) => {
      const path = nodeStagedUploadPath(node.sessionId, (call as { name: string }).name);
      for (const token of [node.linkToken, p.key, ""]) answers.push((await raw(path, { headers: { authorization: `Bearer ${token}` } })).status);
      holding();
      return fetchStagedUpload(node, (call as { name: string }).name);
    };
    const res = await upload(p.key, `/v1/sessions/${session.sessionId}/uploads`, { file: new File(["secret"], "secret.txt") });
    await released;
    onUpload = undefined;
    expect(res.status).toBe(200);
    expect(answers).toEqual([401, 401, 401]);
  });

  it("refuses what it cannot send: no file name, an empty file, no file part, over the bound", async () => {
    const path = `/v1/sessions/${session.sessionId}/uploads`;
    const before = session.link.calls.length;
    expect(await upload(p.key, path, { file: new File(["x"], "..") })).toMatchObject({ status: 400, body: { message: "file: the part needs a filename (a plain file name)" } });
    expect(await upload(p.key, path, { file: new File([], "empty.txt") })).toMatchObject({ status: 400, body: { message: "file: empty" } });
    expect(await upload(p.key, path, { upload: new File(["x"], "x.txt") })).toMatchObject({ status: 400, body: { message: 'file: missing (no part named "file")' } });

    // Over the bound, streamed with no length: refused while staging; nothing is left, the node is never asked.
    const form = new FormData();
    form.append("file", new File([new Uint8Array(ArtifactLimits.uploadBytes + 1)], `big-${crypto.randomUUID()}.bin`));
    const built = new Request("http://x", { method: "POST", body: form });
    const res = await raw(path, { method: "POST", headers: { "X-BB-API-Key": p.key, "content-type": built.headers.get("content-type")! }, body: built.body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: `file: larger than ${ArtifactLimits.uploadBytes} bytes` });
    expect(session.link.calls.length).toBe(before);
    expect(await staged(session.sessionId)).toEqual([]);
  });

  it("passes on the node's refusal, answers 502 when the node fails, and 409 once the session is over", async () => {
    onUpload = async () => ({ ok: false, status: 413, message: "too large for this node" });
    const refused = await upload(p.key, `/v1/sessions/${session.sessionId}/uploads`, { file: new File(["x".repeat(100_000)], "refuse-me.txt") });
    expect(refused).toMatchObject({ status: 413, body: { message: "file: the browser node refused refuse-me.txt as too large" } });
    onUpload = async () => ({ ok: false, status: 500, message: "disk full" });
    expect(await upload(p.key, `/v1/sessions/${session.sessionId}/uploads`, { file: new File(["x"], "a.txt") })).toMatchObject({
      status: 502,
      body: { message: "The session's browser node did not take the upload" },
    });
    onUpload = undefined;
    expect(await staged(session.sessionId)).toEqual([]);

    const gone = (await startSession(p.key, p.projectId)).node;
    await api(p.key, "POST", `/v1/sessions/${gone.sessionId}`, { status: "REQUEST_RELEASE" });
    const over = await upload(p.key, `/v1/sessions/${gone.sessionId}/uploads`, { file: new File(["x"], "a.txt") });
    expect(over).toMatchObject({ status: 409, body: { message: `Session ${gone.sessionId} is not running (status COMPLETED)` } });
  });

  it("asks the running node to flush its downloads before answering, and serves what it then put", async () => {
    const { node } = await startSession(p.key, p.projectId, {}, undefined, {
      handler: async (call, n) => {
        if (call.op !== "flush-downloads") return scriptedCalls(call, n);
        // The node answers its flush only after its PUT was accepted.
        const put = await nodeArtifact(n.sessionId, n.nodeToken, "PUT", "downloads", zipOf({ "fresh.csv": "just downloaded" }));
        return put.status === 200 ? { ok: true, value: null } : { ok: false, status: 502, message: `PUT ${put.status}` };
      },
    });
    const res = await raw(`/v1/sessions/${node.sessionId}/downloads`, { headers: { "X-BB-API-Key": p.key } });
    expect(res.status).toBe(200);
    expect(node.link.calls).toContainEqual({ op: "flush-downloads" });
    expect(Object.keys(unzipSync(new Uint8Array(await res.arrayBuffer())))).toEqual(["fresh.csv"]);
  });
});
