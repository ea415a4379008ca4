import { beforeAll, describe, expect, it } from "vitest";
import { admin, api, call, env, newProject } from "./helpers.ts";

describe("API keys", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  beforeAll(async () => {
    project = await newProject({ name: "auth" });
  });

  it("answers 401 JSON without a key", async () => {
    const res = await call("/v1/sessions");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(res.body).toEqual({ message: expect.stringContaining("Missing API key") });
  });

  it("answers 401 for an unknown key", async () => {
    const res = await api("wc_not-a-real-key-at-all-0000000000", "GET", "/v1/sessions");
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: "Invalid API key" });
  });

  it.each([
    ["X-BB-API-Key", (k: string) => ({ "X-BB-API-Key": k })],
    ["x-wc-api-key", (k: string) => ({ "x-wc-api-key": k })],
    ["Authorization: Bearer", (k: string) => ({ authorization: `Bearer ${k}` })],
  ])("accepts the key in %s", async (_name, headers) => {
    const res = await call("/v1/projects", { headers: headers(project.key) });
    expect(res.status).toBe(200);
    expect(res.body.map((p: { id: string }) => p.id)).toEqual([project.projectId]);
  });

  it("stores only the key's SHA-256 hash", async () => {
    const listed = await env.API_KEYS.list();
    const everything = JSON.stringify(await Promise.all(listed.keys.map(async (k) => [k.name, await env.API_KEYS.get(k.name), k.metadata])));
    expect(everything).not.toContain(project.key);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(project.key));
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    expect(listed.keys.map((k) => k.name)).toContain(`apikey:${hex}`);
  });

  it("refuses a revoked key, and only that key", async () => {
    const second = await admin("POST", `/admin/projects/${project.projectId}/keys`, {});
    expect(second.status).toBe(201);
    expect((await api(second.body.key, "GET", "/v1/sessions")).status).toBe(200);
    const revoked = await admin("DELETE", `/admin/projects/${project.projectId}/keys/${second.body.id}`);
    expect(revoked.status).toBe(204);
    const after = await api(second.body.key, "GET", "/v1/sessions");
    expect(after.status).toBe(401);
    expect(after.body).toEqual({ message: "Invalid API key" });
    expect((await api(project.key, "GET", "/v1/sessions")).status).toBe(200);
    expect((await admin("DELETE", `/admin/projects/${project.projectId}/keys/${second.body.id}`)).status).toBe(404);
  });

  it("serves /health, the JWKS and the OpenAPI document without a key", async () => {
    expect(await call("/health")).toMatchObject({ status: 200, body: { status: "ok" } });
    const jwks = await call("/.well-known/jwks.json");
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig", kid: JSON.parse(env.SIGNING_KEY!).kid });
    expect(jwks.body.keys[0].d).toBeUndefined();
    const doc = await call("/v1/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/v1/sessions", "/v1/sessions/{id}", "/v1/sessions/{id}/debug", "/v1/projects/{id}/usage"]));
  });

  it("documents the artifact routes, their multipart and binary bodies and their answers", async () => {
    const { paths, components } = (await call("/v1/openapi.json")).body;
    const methods = (path: string) => Object.keys(paths[path] ?? {}).sort();
    expect(methods("/v1/extensions")).toEqual(["post"]);
    expect(methods("/v1/extensions/{id}")).toEqual(["delete", "get"]);
    expect(methods("/v1/contexts")).toEqual(["post"]);
    expect(methods("/v1/contexts/{id}")).toEqual(["delete", "get", "put"]);
    expect(methods("/v1/contexts/{id}/profile")).toEqual(["put"]);
    for (const part of ["downloads", "logs", "recording"]) expect(methods(`/v1/sessions/{id}/${part}`)).toEqual(["get"]);
    expect(methods("/v1/sessions/{id}/uploads")).toEqual(["post"]);
    expect(methods("/internal/nodes/{sessionId}/extension")).toEqual(["get"]);
    expect(methods("/internal/nodes/{sessionId}/context")).toEqual(["get", "put"]);
    expect(methods("/internal/nodes/{sessionId}/downloads")).toEqual(["put"]);
    expect(methods("/internal/nodes/{sessionId}/logs")).toEqual(["post"]);
    expect(methods("/internal/nodes/{sessionId}/recording")).toEqual(["post"]);
    for (const path of ["/v1/extensions", "/v1/sessions/{id}/uploads"]) {
      const body = paths[path].post.requestBody.content["multipart/form-data"].schema;
      expect(body).toMatchObject({ type: "object", required: ["file"], properties: { file: { type: "string", format: "binary" } } });
    }
    expect(paths["/v1/sessions/{id}/downloads"].get.responses["200"].content["application/zip"].schema).toMatchObject({ type: "string", format: "binary" });
    expect(Object.keys(components.schemas)).toEqual(expect.arrayContaining(["Extension", "Context", "ContextCreateResponse", "SessionLog", "SessionRecording", "UploadCreateResponse"]));
    expect(Object.keys(components.schemas.Extension.properties).sort()).toEqual(["createdAt", "fileName", "id", "projectId", "updatedAt"]);
  });
});

describe("the admin API", () => {
  it("refuses a wrong or missing admin token", async () => {
    expect((await call("/admin/projects")).status).toBe(401);
    const wrong = await call("/admin/projects", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}x` } });
    expect(wrong).toMatchObject({ status: 401, body: { message: "Invalid admin token" } });
  });

  it("creates, lists, changes projects and names bad fields", async () => {
    const created = await admin("POST", "/admin/projects", { name: "alpha", concurrency: 2, defaultTimeout: 120 });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "alpha",
      ownerId: "wallcrawler",
      concurrency: 2,
      defaultTimeout: 120,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const listed = await admin("GET", "/admin/projects");
    expect(listed.body.map((p: { id: string }) => p.id)).toContain(created.body.id);
    const changed = await admin("PATCH", `/admin/projects/${created.body.id}`, { concurrency: 7 });
    expect(changed.body).toMatchObject({ id: created.body.id, concurrency: 7, defaultTimeout: 120 });
    const bad = await admin("POST", "/admin/projects", { name: "x", defaultTimeout: 10 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^defaultTimeout: /);
    expect((await admin("GET", `/admin/projects/${crypto.randomUUID()}`)).status).toBe(404);
  });

  it("imports a preset key once and lists keys without their secrets", async () => {
    const project = await newProject();
    const preset = `wc_preset_${crypto.randomUUID()}`;
    const imported = await admin("POST", `/admin/projects/${project.projectId}/keys`, { key: preset, name: "preset" });
    expect(imported).toMatchObject({ status: 201, body: { key: preset, name: "preset", projectId: project.projectId } });
    expect((await api(preset, "GET", "/v1/sessions")).status).toBe(200);
    expect((await admin("POST", `/admin/projects/${project.projectId}/keys`, { key: preset })).status).toBe(409);
    const keys = await admin("GET", `/admin/projects/${project.projectId}/keys`);
    expect(keys.body.map((k: { id: string }) => k.id).sort()).toEqual([project.keyId, imported.body.id].sort());
    expect(JSON.stringify(keys.body)).not.toContain(preset);
  });
});
