/**
 * `/v1/contexts`: browser profiles (cookies, local storage, the user-data dir) a session starts
 * from (`browserSettings.context.id`) and, with `persist: true`, saves back at its end. Profiles
 * are stored server-side in R2, so the create answer's encryption fields say "none"; its
 * `uploadUrl` is where a client may PUT a profile of its own (tar.gz of a user-data dir).
 */
import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import { ArtifactLimits } from "../node-protocol.ts";
import type { AppEnv } from "../env.ts";
import { unwrap, validationHook } from "../errors.ts";
import { readConfig } from "../config.ts";
import { error, errors, json, jsonBody } from "../schemas/common.ts";
import { binaryBody, Context, ContextCreateBody, ContextCreateResponse, IdParam, NoContent, ProfileStored } from "../schemas/artifacts.ts";
import { toApiContext } from "../projects/artifact-catalog.ts";
import { rawBody } from "../artifacts/request-body.ts";
import { storeProfile } from "../artifacts/stored-blobs.ts";
import { edgeOrigin, sameProject } from "./scope.ts";

export const contexts = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
const tags = ["contexts"];

type Ctx = { env: AppEnv["Bindings"]; get(key: "projectId"): string; req: { url: string } };
const project = (c: Ctx) => c.env.PROJECTS.getByName(c.get("projectId"));

const createAnswer = (c: Ctx, id: string): z.infer<typeof ContextCreateResponse> => ({
  id,
  cipherAlgorithm: "none",
  initializationVectorSize: 0,
  publicKey: "",
  uploadUrl: `${edgeOrigin(readConfig(c.env).edgePublicUrl, c.req.url)}/v1/contexts/${id}/profile`,
});

contexts.openapi(
  createRoute({
    method: "post",
    path: "/v1/contexts",
    tags,
    request: { body: jsonBody(ContextCreateBody) },
    responses: {
      201: json(ContextCreateResponse, "Created, with no saved profile yet"),
      ...errors,
      403: error("projectId names another project"),
      409: error("Another context of the project has this name"),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    sameProject(body.projectId, c.get("projectId"));
    const row = unwrap(await project(c).createContext({ id: crypto.randomUUID(), name: body.name, now: Date.now() }));
    return c.json(createAnswer(c, row.id), 201);
  },
);

contexts.openapi(
  createRoute({ method: "get", path: "/v1/contexts/{id}", tags, request: { params: IdParam }, responses: { 200: json(Context, "The context"), ...errors } }),
  async (c) => {
    const row = unwrap(await project(c).context(c.req.valid("param").id));
    return c.json(toApiContext(row, c.get("projectId")), 200);
  },
);

contexts.openapi(
  createRoute({
    method: "put",
    path: "/v1/contexts/{id}",
    tags,
    request: { params: IdParam },
    responses: { 200: json(ContextCreateResponse, "As create (Browserbase's update hands out new upload keys; there are none here)"), ...errors },
  }),
  async (c) => {
    const row = unwrap(await project(c).touchContext(c.req.valid("param").id));
    return c.json(createAnswer(c, row.id), 200);
  },
);

contexts.openapi(
  createRoute({ method: "delete", path: "/v1/contexts/{id}", tags, request: { params: IdParam }, responses: { 204: NoContent, ...errors } }),
  async (c) => {
    unwrap(await project(c).deleteContext(c.req.valid("param").id));
    return c.body(null, 204);
  },
);

contexts.openapi(
  createRoute({
    method: "put",
    path: "/v1/contexts/{id}/profile",
    tags,
    request: { params: IdParam, body: binaryBody("application/gzip", `tar.gz of a Chromium user-data dir, at most ${ArtifactLimits.contextBytes} bytes`) },
    responses: {
      200: json(ProfileStored, "The context's profile from now on (sessions saving it later replace it)"),
      ...errors,
      413: error(`Larger than ${ArtifactLimits.contextBytes} bytes`),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    unwrap(await project(c).context(id));
    const chunks = await rawBody(c.req.raw, { maxBytes: ArtifactLimits.contextBytes, what: "profile" });
    const { bytes } = await storeProfile(c.env, c.get("projectId"), id, chunks);
    return c.json({ id, bytes }, 200);
  },
);
