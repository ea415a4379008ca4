/**
 * The admin API (bearer ADMIN_TOKEN): projects and their API keys, the warm pools, and which node
 * serves a session. A project lives in its ProjectObject; KV keeps a copy of each project (as key
 * metadata) only so that they can be listed.
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv, EdgeEnv } from "../env.ts";
import { ApiError, unwrap, validationHook } from "../errors.ts";
import { error, errors, json, jsonBody } from "../schemas/common.ts";
import { ApiKeyCreateBody, ApiKeyCreated, ApiKeyInfo, KeyParams, Project, ProjectCreateBody, ProjectIdParam, ProjectUpdateBody } from "../schemas/project.ts";
import { DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_SECONDS, type Project as ProjectRecord } from "../projects/project-record.ts";
import { createApiKey, listApiKeys, revokeApiKey } from "../auth/api-keys.ts";
import { listMetadata } from "../kv-listing.ts";
import { readConfig } from "../config.ts";
import { PoolState, SessionNode } from "../schemas/pool.ts";
import { poolSettings } from "../pool/pool-settings.ts";
import { edgeOrigin, sessionStub } from "./scope.ts";
import { SessionIdParam } from "../schemas/session.ts";

export const admin = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
const tags = ["admin"];
const security = [{ adminToken: [] }];
const listing = (id: string) => `project:${id}`;

const remember = (env: EdgeEnv, project: ProjectRecord) => env.API_KEYS.put(listing(project.id), "", { metadata: project });

const existing = async (env: EdgeEnv, id: string) => unwrap(await env.PROJECTS.getByName(id).get());

admin.openapi(
  createRoute({
    method: "post",
    path: "/admin/projects",
    tags,
    security,
    request: { body: { ...jsonBody(ProjectCreateBody), required: true } },
    responses: { 201: json(Project, "The new project"), ...errors, 403: error("Admin is off") },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const now = new Date().toISOString();
    const id = crypto.randomUUID();
    const project: ProjectRecord = {
      id,
      name: body.name,
      ownerId: body.ownerId ?? "wallcrawler",
      concurrency: body.concurrency ?? DEFAULT_CONCURRENCY,
      defaultTimeout: body.defaultTimeout ?? DEFAULT_TIMEOUT_SECONDS,
      createdAt: now,
      updatedAt: now,
    };
    unwrap(await c.env.PROJECTS.getByName(id).create(project));
    await remember(c.env, project);
    return c.json(project, 201);
  },
);

admin.openapi(
  createRoute({ method: "get", path: "/admin/projects", tags, security, responses: { 200: json(Project.array(), "Every project"), ...errors } }),
  async (c) => {
    const projects = await listMetadata<ProjectRecord>(c.env.API_KEYS, listing(""));
    return c.json(projects.sort((a, b) => a.createdAt.localeCompare(b.createdAt)), 200);
  },
);

admin.openapi(
  createRoute({ method: "get", path: "/admin/projects/{id}", tags, security, request: { params: ProjectIdParam }, responses: { 200: json(Project, "The project"), ...errors } }),
  async (c) => c.json(await existing(c.env, c.req.valid("param").id), 200),
);

admin.openapi(
  createRoute({
    method: "patch",
    path: "/admin/projects/{id}",
    tags,
    security,
    request: { params: ProjectIdParam, body: { ...jsonBody(ProjectUpdateBody), required: true } },
    responses: { 200: json(Project, "The changed project"), ...errors },
  }),
  async (c) => {
    const project = unwrap(await c.env.PROJECTS.getByName(c.req.valid("param").id).update(c.req.valid("json")));
    await remember(c.env, project);
    return c.json(project, 200);
  },
);

admin.openapi(
  createRoute({
    method: "post",
    path: "/admin/projects/{id}/keys",
    tags,
    security,
    request: { params: ProjectIdParam, body: jsonBody(ApiKeyCreateBody) },
    responses: { 201: json(ApiKeyCreated, "The new key, shown only here"), ...errors, 409: error("That preset key is already in use") },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await existing(c.env, id);
    const body = c.req.valid("json");
    const created = await createApiKey(c.env.API_KEYS, id, { name: body.name, preset: body.key });
    if (created === "taken") throw new ApiError(409, "key: already in use");
    return c.json(created, 201);
  },
);

admin.openapi(
  createRoute({
    method: "get",
    path: "/admin/projects/{id}/keys",
    tags,
    security,
    request: { params: ProjectIdParam },
    responses: { 200: json(ApiKeyInfo.array(), "The project's keys (never the keys themselves)"), ...errors },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await existing(c.env, id);
    return c.json(await listApiKeys(c.env.API_KEYS, id), 200);
  },
);

admin.openapi(
  createRoute({
    method: "delete",
    path: "/admin/projects/{id}/keys/{keyId}",
    tags,
    security,
    request: { params: KeyParams },
    responses: { 204: { description: "Revoked" }, ...errors },
  }),
  async (c) => {
    const { id, keyId } = c.req.valid("param");
    if (!(await revokeApiKey(c.env.API_KEYS, id, keyId))) throw new ApiError(404, "API key not found");
    return c.body(null, 204);
  },
);

admin.openapi(
  createRoute({
    method: "get",
    path: "/admin/pools",
    tags,
    security,
    responses: { 200: json(PoolState.array(), "Each region's warm pool (one region per edge today)"), ...errors },
  }),
  async (c) => {
    const config = readConfig(c.env);
    const settings = poolSettings(config, edgeOrigin(config.edgePublicUrl, c.req.url));
    return c.json([unwrap(await c.env.POOLS.getByName(settings.name).state(settings))], 200);
  },
);

admin.openapi(
  createRoute({
    method: "get",
    path: "/admin/sessions/{id}/node",
    tags,
    security,
    request: { params: SessionIdParam },
    responses: { 200: json(SessionNode, "The pool member and the ECS task serving the session (to find its logs)"), ...errors },
  }),
  async (c) => c.json(unwrap(await sessionStub(c.env, c.req.valid("param").id).node()), 200),
);
