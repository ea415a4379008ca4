/**
 * The real @browserbasehq/sdk (2.21) against the Worker: its own requests (multipart bodies,
 * bodyless PUT and DELETE, `Accept: application/zip`) and its own parsing of the answers.
 */
import { exports } from "cloudflare:workers";
import Browserbase, { toFile } from "@browserbasehq/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import { unzipSync } from "fflate";
import { call, EXTENSION_ZIP, newProject, nodeArtifact, startSession, zipOf } from "./helpers.ts";

describe("the Browserbase SDK's artifact calls", () => {
  let p: Awaited<ReturnType<typeof newProject>>;
  let bb: Browserbase;
  beforeAll(async () => {
    p = await newProject({ name: "sdk", concurrency: 10 });
    bb = new Browserbase({
      apiKey: p.key,
      baseURL: "http://edge.test",
      maxRetries: 0,
      fetch: (url, init) => exports.default.fetch(new Request(url as string, init as RequestInit)) as never,
    });
  });

  it("extensions: create, retrieve, delete", async () => {
    const created = await bb.extensions.create({ file: await toFile(EXTENSION_ZIP, "stagehand.zip") });
    expect(created).toMatchObject({ fileName: "stagehand.zip", projectId: p.projectId });
    expect(await bb.extensions.retrieve(created.id)).toEqual(created);
    await bb.extensions.delete(created.id);
    await expect(bb.extensions.retrieve(created.id)).rejects.toMatchObject({ status: 404, error: { message: "Extension not found" } });
  });

  it("contexts: create, retrieve, update, delete", async () => {
    const created = await bb.contexts.create({ projectId: p.projectId });
    expect(typeof created.uploadUrl).toBe("string");
    expect(await bb.contexts.retrieve(created.id)).toMatchObject({ id: created.id, projectId: p.projectId });
    expect(await bb.contexts.update(created.id)).toEqual(created);
    await bb.contexts.delete(created.id);
    await expect(bb.contexts.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
  });

  it("sessions: uploads, downloads, logs and recording", async () => {
    const { node } = await startSession(p.key, p.projectId);
    const uploaded = await bb.sessions.uploads.create(node.sessionId, { file: await toFile(new TextEncoder().encode("a,b\n"), "data.csv") });
    expect(uploaded.message).toMatch(/^Uploaded data\.csv to the session's browser at /);

    await nodeArtifact(node.sessionId, node.nodeToken, "POST", "logs", JSON.stringify({ entries: [{ method: "Page.enable", pageId: 0, sessionId: "S" }] }), {
      "content-type": "application/json",
    });
    await nodeArtifact(node.sessionId, node.nodeToken, "POST", "recording", JSON.stringify({ events: [{ type: 4, timestamp: 5, data: { href: "about:blank" } }] }), {
      "content-type": "application/json",
    });
    expect(await bb.sessions.logs.list(node.sessionId)).toEqual([{ method: "Page.enable", pageId: 0, sessionId: "S" }]);
    expect(await bb.sessions.recording.retrieve(node.sessionId)).toEqual([{ type: 4, timestamp: 5, data: { href: "about:blank" }, sessionId: node.sessionId }]);

    // Ended: no flush is asked; the zip the node left is served.
    await call(`/v1/sessions/${node.sessionId}`, { method: "POST", headers: { "X-BB-API-Key": p.key, "content-type": "application/json" }, body: '{"status":"REQUEST_RELEASE"}' });
    await nodeArtifact(node.sessionId, node.nodeToken, "PUT", "downloads", zipOf({ "file.txt": "downloaded" }));
    const response = await bb.sessions.downloads.list(node.sessionId);
    expect(Object.keys(unzipSync(new Uint8Array(await response.arrayBuffer())))).toEqual(["file.txt"]);
  });
});
