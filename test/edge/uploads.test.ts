/**
 * Uploads pushed to a running session's node, and the downloads flush asked of it, against the
 * node receiver (node/node-receiver.ts): a real HTTP server that checks the CDP token with jose.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { unzipSync } from "fflate";
import { ArtifactLimits } from "../../edge/node-protocol.ts";
import type { ReceivedUpload } from "./node/received-upload.ts";
import { api, newProject, nodeArtifact, raw, receiver, sha256, startSession, upload, zipOf } from "./helpers.ts";

const port = inject("nodeReceiverPort");
const uploadsNamed = async (name: string) => ((await receiver("/_control/uploads")) as ReceivedUpload[]).filter((u) => u.name === name);

describe("uploads to a running session", () => {
  let p: Awaited<ReturnType<typeof newProject>>;
  let session: { sessionId: string; nodeToken: string };
  beforeAll(async () => {
    p = await newProject({ name: "uploads", concurrency: 10 });
    session = (await startSession(p.key, p.projectId, {}, undefined, port)).node;
  });

  it("streams the file to the node with a CDP token of the session, and names where the page can take it", async () => {
    const bytes = new Uint8Array(300_000);
    for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const name = `invoice-${crypto.randomUUID()}.pdf`;
    const res = await upload(p.key, `/v1/sessions/${session.sessionId}/uploads`, { file: new File([bytes], `../../${name}`, { type: "application/pdf" }) });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["message"]);
    expect(res.body.message).toBe(
      `Uploaded ${name} to the session's browser at /tmp/wallcrawler-uploads/${name}: set that path on a file input (CDP DOM.setFileInputFiles, Puppeteer uploadFile).`,
    );
    const [got] = await uploadsNamed(name);
    expect(got).toEqual({
      name,
      sessionId: session.sessionId,
      projectId: p.projectId,
      bytes: bytes.length,
      sha256: await sha256(bytes),
      contentType: "application/pdf",
      transferEncoding: "chunked",
      status: 201,
    });
  });

  it("streams: the node holds the first bytes before the client has sent the rest", async () => {
    const name = `stream-${crypto.randomUUID()}.bin`;
    const half = new Uint8Array(256 * 1024).fill(7);
    const text = (s: string) => new TextEncoder().encode(s);
    let reached = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(text(`--B\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n\r\n`));
        controller.enqueue(half);
      },
      async pull(controller) {
        // The rest only once the node has most of the first half: a buffering edge never gets here.
        for (let i = 0; i < 400 && reached < 200 * 1024; i++) {
          reached = (await uploadsNamed(name))[0]?.bytes ?? 0;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        controller.enqueue(half);
        controller.enqueue(text("\r\n--B--\r\n"));
        controller.close();
      },
    });
    const res = await raw(`/v1/sessions/${session.sessionId}/uploads`, {
      method: "POST",
      headers: { "X-BB-API-Key": p.key, "content-type": "multipart/form-data; boundary=B" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(reached).toBeGreaterThanOrEqual(200 * 1024);
    expect((await uploadsNamed(name))[0]).toMatchObject({ bytes: 512 * 1024, status: 201 });
  });

  it("refuses what it cannot send: no file name, an empty file, no file part, over the bound", async () => {
    const path = `/v1/sessions/${session.sessionId}/uploads`;
    expect(await upload(p.key, path, { file: new File(["x"], "..") })).toMatchObject({ status: 400, body: { message: "file: the part needs a filename (a plain file name)" } });
    expect(await upload(p.key, path, { file: new File([], "empty.txt") })).toMatchObject({ status: 400, body: { message: "file: empty" } });
    expect(await upload(p.key, path, { upload: new File(["x"], "x.txt") })).toMatchObject({ status: 400, body: { message: 'file: missing (no part named "file")' } });
    expect((await uploadsNamed("empty.txt")).length).toBe(0);

    // Over the bound, streamed with no length: the edge cuts the node's body off and answers 413.
    const name = `big-${crypto.randomUUID()}.bin`;
    const form = new FormData();
    form.append("file", new File([new Uint8Array(ArtifactLimits.uploadBytes + 1)], name));
    const built = new Request("http://x", { method: "POST", body: form });
    const res = await raw(path, { method: "POST", headers: { "X-BB-API-Key": p.key, "content-type": built.headers.get("content-type")! }, body: built.body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: `file: larger than ${ArtifactLimits.uploadBytes} bytes` });
    const [cut] = await uploadsNamed(name);
    expect(cut.status).toBe(-1);
  });

  it("passes on the node's refusal and answers 409 once the session is over", async () => {
    const refused = await upload(p.key, `/v1/sessions/${session.sessionId}/uploads`, { file: new File(["x".repeat(100_000)], "refuse-me.txt") });
    expect(refused).toMatchObject({ status: 413, body: { message: "file: the browser node refused refuse-me.txt as too large" } });

    const gone = (await startSession(p.key, p.projectId, {}, undefined, 1)).node;
    expect(await upload(p.key, `/v1/sessions/${gone.sessionId}/uploads`, { file: new File(["x"], "a.txt") })).toMatchObject({
      status: 502,
      body: { message: "The session's browser node did not take the upload" },
    });
    await api(p.key, "POST", `/v1/sessions/${gone.sessionId}`, { status: "REQUEST_RELEASE" });
    const over = await upload(p.key, `/v1/sessions/${gone.sessionId}/uploads`, { file: new File(["x"], "a.txt") });
    expect(over).toMatchObject({ status: 409, body: { message: `Session ${gone.sessionId} is not running (status COMPLETED)` } });
  });

  it("asks the running node to flush its downloads before answering, and serves what it then put", async () => {
    const pending = raw(`/v1/sessions/${session.sessionId}/downloads`, { headers: { "X-BB-API-Key": p.key } });
    let asked: string[] = [];
    for (let i = 0; i < 200 && !asked.includes(session.sessionId); i++) {
      asked = await receiver("/_control/flushes");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(asked).toContain(session.sessionId);
    // The node answers its flush only after its PUT was accepted.
    const zip = zipOf({ "fresh.csv": "just downloaded" });
    expect((await nodeArtifact(session.sessionId, session.nodeToken, "PUT", "downloads", zip)).status).toBe(200);
    expect(await receiver(`/_control/release/${session.sessionId}`, { method: "POST" })).toEqual({ released: true });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(Object.keys(unzipSync(new Uint8Array(await res.arrayBuffer())))).toEqual(["fresh.csv"]);
  });
});
