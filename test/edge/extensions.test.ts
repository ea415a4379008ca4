import { beforeAll, describe, expect, it } from "vitest";
import { strToU8, zipSync } from "fflate";
import { api, call, env, EXTENSION_ZIP, newExtension, newProject, sha256, upload, zipOf } from "./helpers.ts";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const file = (data: Uint8Array | string, name = "ext.zip") => new File([data], name, { type: "application/zip" });

describe("extensions", () => {
  let a: Awaited<ReturnType<typeof newProject>>;
  let b: Awaited<ReturnType<typeof newProject>>;
  beforeAll(async () => {
    a = await newProject({ name: "extensions A" });
    b = await newProject({ name: "extensions B" });
  });

  it("creates, retrieves and deletes in the SDK's Extension shape; the zip lives in R2 until deleted", async () => {
    const created = await upload(a.key, "/v1/extensions", { file: file(EXTENSION_ZIP, "stagehand-ext.zip") });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(["createdAt", "fileName", "id", "projectId", "updatedAt"]);
    expect(created.body).toMatchObject({ projectId: a.projectId, fileName: "stagehand-ext.zip", createdAt: expect.stringMatching(ISO), updatedAt: expect.stringMatching(ISO) });
    const id = created.body.id;
    const blob = await env.BLOBS.get(`projects/${a.projectId}/extensions/${id}.zip`);
    expect(await sha256(await blob!.arrayBuffer())).toBe(await sha256(EXTENSION_ZIP));

    expect(await api(a.key, "GET", `/v1/extensions/${id}`)).toMatchObject({ status: 200, body: created.body });
    const deleted = await call(`/v1/extensions/${id}`, { method: "DELETE", headers: { "X-BB-API-Key": a.key, Accept: "*/*" } });
    expect(deleted).toMatchObject({ status: 204, body: undefined });
    expect(await env.BLOBS.head(`projects/${a.projectId}/extensions/${id}.zip`)).toBeNull();
    expect(await api(a.key, "GET", `/v1/extensions/${id}`)).toMatchObject({ status: 404, body: { message: "Extension not found" } });
    expect((await api(a.key, "DELETE", `/v1/extensions/${id}`)).status).toBe(404);
  });

  it("is invisible to another project's key", async () => {
    const id = await newExtension(a.key);
    expect(await api(b.key, "GET", `/v1/extensions/${id}`)).toMatchObject({ status: 404, body: { message: "Extension not found" } });
    expect(await api(b.key, "DELETE", `/v1/extensions/${id}`)).toMatchObject({ status: 404, body: { message: "Extension not found" } });
    expect((await api(a.key, "GET", `/v1/extensions/${id}`)).status).toBe(200);
    expect((await call("/v1/extensions", { method: "POST", body: new FormData() })).status).toBe(401);
  });

  it.each([
    ["no file part", { other: "x" }, /^file: missing \(no part named "file"\)$/],
    ["an empty file", { file: file(new Uint8Array(0)) }, /^file: empty$/],
    ["a file that is not a zip", { file: file("just text, long enough to be looked at as a zip archive") }, /^file: not a zip archive: no end of central directory record$/],
    ["a file shorter than any zip", { file: file("PK") }, /^file: not a zip archive: too short$/],
    ["a zip without manifest.json", { file: file(zipOf({ "background.js": "//" })) }, /^file: no manifest\.json at the root of the zip$/],
    ["manifest.json only in a folder", { file: file(zipOf({ "ext/manifest.json": "{}" })) }, /^file: no manifest\.json at the root of the zip$/],
    ["an entry outside the zip's root", { file: file(zipOf({ "manifest.json": "{}", "../evil.js": "//" })) }, /^file: the zip holds an entry outside its root: "\.\.\/evil\.js"$/],
    ["an empty zip", { file: file(zipSync({})) }, /^file: no manifest\.json at the root of the zip$/],
  ])("refuses %s with a 400 and the reason, storing nothing", async (_name, parts, message) => {
    const before = await env.BLOBS.list({ prefix: `projects/${a.projectId}/extensions/` });
    const res = await upload(a.key, "/v1/extensions", parts as Record<string, string | File>);
    expect(res.status).toBe(400);
    expect(Object.keys(res.body)).toEqual(["message"]);
    expect(res.body.message).toMatch(message);
    expect((await env.BLOBS.list({ prefix: `projects/${a.projectId}/extensions/` })).objects.length).toBe(before.objects.length);
  });

  it("refuses a body that is not multipart, and one declared over the bound (413) before reading it", async () => {
    const asJson = await api(a.key, "POST", "/v1/extensions", { file: "x" });
    expect(asJson).toMatchObject({ status: 400, body: { message: 'Expected a multipart/form-data body with a "file" part' } });
    const huge = await call("/v1/extensions", {
      method: "POST",
      headers: { "X-BB-API-Key": a.key, "content-type": "multipart/form-data; boundary=x", "content-length": String(101 * 1024 * 1024) },
      body: "--x--",
    });
    expect(huge.status).toBe(413);
    expect(huge.body.message).toMatch(/^Request body larger than \d+ bytes$/);
  });

  it.each([
    ["a name with a space", "Content Disposition: form-data; name=\"file\""],
    ["a line without a colon", "Content-Disposition form-data; name=\"file\""],
    ["an empty name", ": form-data; name=\"file\""],
    ["a control character in a value", "Content-Disposition: form-data; name=\"file\"; filename=\"a\u0000.zip\""],
    ["a folded line", "Content-Disposition: form-data;\r\n name=\"file\""],
  ])("refuses a part header with %s: 400, storing nothing", async (_name, header) => {
    const before = await env.BLOBS.list({ prefix: `projects/${a.projectId}/extensions/` });
    const res = await call("/v1/extensions", {
      method: "POST",
      headers: { "X-BB-API-Key": a.key, "content-type": "multipart/form-data; boundary=B" },
      body: new Blob([`--B\r\n${header}\r\n\r\n`, EXTENSION_ZIP, "\r\n--B--\r\n"]),
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: expect.stringMatching(/^Malformed multipart body: part header /) });
    expect((await env.BLOBS.list({ prefix: `projects/${a.projectId}/extensions/` })).objects.length).toBe(before.objects.length);
  });

  it("takes a file name in UTF-8 beyond Latin-1, as FormData sends it", async () => {
    const created = await upload(a.key, "/v1/extensions", { file: file(EXTENSION_ZIP, "扩展-€.zip") });
    expect(created).toMatchObject({ status: 201, body: { fileName: "扩展-€.zip" } });
  });

  it("streams a large extension sent without a length into R2 in parts, byte for byte", async () => {
    // 6 MiB of incompressible bytes, stored: more than one R2 part (5 MiB).
    const noise = new Uint8Array(6 * 1024 * 1024);
    for (let i = 0; i < noise.length; i += 65536) crypto.getRandomValues(noise.subarray(i, i + 65536));
    const zip = zipSync({ "manifest.json": strToU8("{}"), "noise.bin": [noise, { level: 0 }] });
    const form = new FormData();
    form.append("note", "a field before the file");
    form.append("file", file(zip, "big.zip"));
    const request = new Request("http://x", { method: "POST", body: form });
    const bytes = new Uint8Array(await request.arrayBuffer());
    // Cut into odd pieces so boundaries straddle chunks; no content-length.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 65_521) controller.enqueue(bytes.slice(i, i + 65_521));
        controller.close();
      },
    });
    const res = await call("/v1/extensions", {
      method: "POST",
      headers: { "X-BB-API-Key": a.key, "content-type": request.headers.get("content-type")! },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(201);
    const stored = await env.BLOBS.get(`projects/${a.projectId}/extensions/${res.body.id}.zip`);
    expect(stored!.size).toBe(zip.length);
    expect(await sha256(await stored!.arrayBuffer())).toBe(await sha256(zip));
  });
});
