import { beforeAll, describe, expect, it } from "vitest";
import { gzipSync, strToU8 } from "fflate";
import { api, call, env, newProject, nodeArtifact, sha256, startSession } from "./helpers.ts";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const PROFILE = gzipSync(strToU8("a tar of a user-data dir, as far as this test cares"));
const putProfile = (key: string, id: string, body: BodyInit) =>
  call(`/v1/contexts/${id}/profile`, { method: "PUT", headers: { "X-BB-API-Key": key, "content-type": "application/gzip" }, body });

describe("contexts", () => {
  let a: Awaited<ReturnType<typeof newProject>>;
  let b: Awaited<ReturnType<typeof newProject>>;
  beforeAll(async () => {
    a = await newProject({ name: "contexts A", concurrency: 10 });
    b = await newProject({ name: "contexts B" });
  });

  it("creates in the SDK's ContextCreateResponse shape, retrieves as Context, updates as create, deletes", async () => {
    const created = await api(a.key, "POST", "/v1/contexts", { projectId: a.projectId });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(["cipherAlgorithm", "id", "initializationVectorSize", "publicKey", "uploadUrl"]);
    const id = created.body.id;
    expect(created.body).toEqual({ id, cipherAlgorithm: "none", initializationVectorSize: 0, publicKey: "", uploadUrl: `http://edge.test/v1/contexts/${id}/profile` });

    const retrieved = await api(a.key, "GET", `/v1/contexts/${id}`);
    expect(retrieved.status).toBe(200);
    expect(Object.keys(retrieved.body).sort()).toEqual(["createdAt", "id", "projectId", "updatedAt"]);
    expect(retrieved.body).toMatchObject({ id, projectId: a.projectId, createdAt: expect.stringMatching(ISO), updatedAt: expect.stringMatching(ISO) });

    // The SDK's update sends no body (older ones an empty one with a JSON type).
    const updated = await call(`/v1/contexts/${id}`, { method: "PUT", headers: { "X-BB-API-Key": a.key, "content-type": "application/json" } });
    expect(updated).toMatchObject({ status: 200, body: created.body });
    expect(Date.parse((await api(a.key, "GET", `/v1/contexts/${id}`)).body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(retrieved.body.updatedAt));

    expect(await call(`/v1/contexts/${id}`, { method: "DELETE", headers: { "X-BB-API-Key": a.key } })).toMatchObject({ status: 204, body: undefined });
    expect(await api(a.key, "GET", `/v1/contexts/${id}`)).toMatchObject({ status: 404, body: { message: "Context not found" } });
    expect((await api(a.key, "PUT", `/v1/contexts/${id}`)).status).toBe(404);
    expect((await api(a.key, "DELETE", `/v1/contexts/${id}`)).status).toBe(404);
  });

  it("takes a bodyless create, a name (unique per project, any case), and refuses another project's id", async () => {
    const bare = await call("/v1/contexts", { method: "POST", headers: { "X-BB-API-Key": a.key } });
    expect(bare.status).toBe(201);
    const named = await api(a.key, "POST", "/v1/contexts", { name: "  Shop login " });
    expect((await api(a.key, "GET", `/v1/contexts/${named.body.id}`)).body.name).toBe("Shop login");
    expect(await api(a.key, "POST", "/v1/contexts", { name: "shop LOGIN" })).toMatchObject({ status: 409, body: { message: 'name: a context named "shop LOGIN" already exists' } });
    expect((await api(b.key, "POST", "/v1/contexts", { name: "Shop login" })).status).toBe(201);
    expect(await api(a.key, "POST", "/v1/contexts", { projectId: b.projectId })).toMatchObject({ status: 403, body: { message: "projectId does not match the API key's project" } });
    expect((await api(a.key, "POST", "/v1/contexts", { name: 3 })).body.message).toMatch(/^name: /);
  });

  it("is invisible to another project's key", async () => {
    const id = (await api(a.key, "POST", "/v1/contexts", {})).body.id;
    for (const [method, path] of [["GET", `/v1/contexts/${id}`], ["PUT", `/v1/contexts/${id}`], ["DELETE", `/v1/contexts/${id}`]] as const)
      expect(await api(b.key, method, path), `${method} ${path}`).toMatchObject({ status: 404, body: { message: "Context not found" } });
    expect((await putProfile(b.key, id, PROFILE)).status).toBe(404);
    expect((await api(a.key, "GET", `/v1/contexts/${id}`)).status).toBe(200);
  });

  it("takes a profile at its uploadUrl, serves it to a session's node, and drops it with the context", async () => {
    const id = (await api(a.key, "POST", "/v1/contexts", {})).body.id;
    expect((await putProfile(a.key, id, strToU8("not gzip"))).body).toEqual({ message: "profile: not a gzip archive (expected a tar.gz of the user-data dir)" });
    expect((await putProfile(a.key, id, new Uint8Array(0))).body).toEqual({ message: "profile: empty" });
    expect(await putProfile(a.key, id, PROFILE)).toMatchObject({ status: 200, body: { id, bytes: PROFILE.length } });
    const replacement = gzipSync(strToU8("a newer profile"));
    expect((await putProfile(a.key, id, replacement)).status).toBe(200);
    // The replaced profile is gone; one blob is left.
    expect((await env.BLOBS.list({ prefix: `projects/${a.projectId}/contexts/${id}/` })).objects.length).toBe(1);

    const { node } = await startSession(a.key, a.projectId, { browserSettings: { context: { id } } });
    const served = await nodeArtifact(node.sessionId, node.nodeToken, "GET", "context");
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("application/gzip");
    expect(await sha256(await served.arrayBuffer())).toBe(await sha256(replacement));

    expect((await api(a.key, "DELETE", `/v1/contexts/${id}`)).status).toBe(204);
    expect((await env.BLOBS.list({ prefix: `projects/${a.projectId}/contexts/${id}/` })).objects).toEqual([]);
    expect(await nodeArtifact(node.sessionId, node.nodeToken, "GET", "context").then((r) => r.json())).toEqual({ message: `Context ${id} no longer exists` });
  });

  it("refuses a profile declared over the bound before reading it", async () => {
    const id = (await api(a.key, "POST", "/v1/contexts", {})).body.id;
    const res = await call(`/v1/contexts/${id}/profile`, {
      method: "PUT",
      headers: { "X-BB-API-Key": a.key, "content-type": "application/gzip", "content-length": String(101 * 1024 * 1024) },
      body: PROFILE,
    });
    expect(res.status).toBe(413);
    expect(res.body.message).toMatch(/^Request body larger than \d+ bytes$/);
  });
});
