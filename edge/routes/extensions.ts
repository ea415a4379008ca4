/** `/v1/extensions`: Chrome extensions (zips) a session can load, for the key's project only. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { ArtifactLimits } from "../node-protocol.ts";
import type { AppEnv } from "../env.ts";
import { unwrap, validationHook } from "../errors.ts";
import { error, errors, json } from "../schemas/common.ts";
import { Extension, IdParam, multipartFile, NoContent } from "../schemas/artifacts.ts";
import { toApiExtension } from "../projects/artifact-catalog.ts";
import { openFilePart } from "../artifacts/request-body.ts";
import { storeExtension } from "../artifacts/stored-blobs.ts";

export const extensions = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
const tags = ["extensions"];

extensions.openapi(
  createRoute({
    method: "post",
    path: "/v1/extensions",
    tags,
    request: { body: multipartFile("A zip with manifest.json at its root", ArtifactLimits.extensionBytes) },
    responses: {
      201: json(Extension, "Stored; sessions may name it as extensionId"),
      ...errors,
      400: error("No file part, an empty file, not a zip, no manifest.json at the zip's root, or an entry outside it"),
      413: error(`Larger than ${ArtifactLimits.extensionBytes} bytes`),
    },
  }),
  async (c) => {
    const projectId = c.get("projectId");
    const part = await openFilePart(c.req.raw, { maxBytes: ArtifactLimits.extensionBytes });
    return c.json(toApiExtension(await storeExtension(c.env, projectId, part), projectId), 201);
  },
);

extensions.openapi(
  createRoute({ method: "get", path: "/v1/extensions/{id}", tags, request: { params: IdParam }, responses: { 200: json(Extension, "The extension"), ...errors } }),
  async (c) => {
    const projectId = c.get("projectId");
    const row = unwrap(await c.env.PROJECTS.getByName(projectId).extension(c.req.valid("param").id));
    return c.json(toApiExtension(row, projectId), 200);
  },
);

extensions.openapi(
  createRoute({ method: "delete", path: "/v1/extensions/{id}", tags, request: { params: IdParam }, responses: { 204: NoContent, ...errors } }),
  async (c) => {
    unwrap(await c.env.PROJECTS.getByName(c.get("projectId")).deleteExtension(c.req.valid("param").id));
    return c.body(null, 204);
  },
);
