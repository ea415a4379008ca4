/**
 * A browser node's artifact routes (`nodeArtifactPath` in node-protocol.ts), each behind the
 * session's node token: it loads the session's extension and saved profile at its start, and
 * ships downloads, logs and recording while it runs and at its exit. Blobs pass through the edge
 * as streams; nodes hold no cloud credentials.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ArtifactLimits, type ArtifactKind } from "../node-protocol.ts";
import { LogBatch, NodeUsage, RecordingEvent } from "../schemas/node-messages.ts";
import type { AppEnv } from "../env.ts";
import { ApiError, unwrap, validationHook } from "../errors.ts";
import { nodeAuth } from "../middleware/node-token.ts";
import { error, errors, json, jsonBody } from "../schemas/common.ts";
import { Appended, binaryAnswer, binaryBody, Stored } from "../schemas/artifacts.ts";
import { blobResponse } from "../artifacts/blob-store.ts";
import { rawBody } from "../artifacts/request-body.ts";
import { storeDownloads, storeProfile } from "../artifacts/stored-blobs.ts";
import { utf8Bytes } from "../sessions/input-bounds.ts";
import { NodeSessionParam } from "./internal.ts";
import { sessionStub } from "./scope.ts";

export const nodeArtifacts = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
const tags = ["internal"];
const path = (kind: ArtifactKind) => `/internal/nodes/{sessionId}/${kind}`;
const refusals = {
  ...errors,
  409: error("The session is over (or past its grace), the session does not keep this artifact, or (context) it no longer holds the context"),
  413: error("Over the artifact's bound"),
};

nodeArtifacts.openapi(
  createRoute({
    method: "get",
    path: path("extension"),
    tags,
    middleware: [nodeAuth] as const,
    request: { params: NodeSessionParam },
    responses: { 200: binaryAnswer("application/zip", "The session's extension"), ...refusals },
  }),
  async (c) => {
    const { projectId, id } = unwrap(await sessionStub(c.env, c.req.valid("param").sessionId).artifactToLoad("extension"));
    const row = unwrap(await c.env.PROJECTS.getByName(projectId).extension(id, `Extension ${id} no longer exists`));
    const answer = await blobResponse(c.env.BLOBS, row.blob, "application/zip");
    if (!answer) throw new ApiError(404, `Extension ${id} no longer exists`);
    return answer;
  },
);

nodeArtifacts.openapi(
  createRoute({
    method: "get",
    path: path("context"),
    tags,
    middleware: [nodeAuth] as const,
    request: { params: NodeSessionParam },
    responses: { 200: binaryAnswer("application/gzip", "The context's saved profile (tar.gz); 404 when none is saved yet"), ...refusals },
  }),
  async (c) => {
    const { projectId, id } = unwrap(await sessionStub(c.env, c.req.valid("param").sessionId).artifactToLoad("context"));
    const row = unwrap(await c.env.PROJECTS.getByName(projectId).context(id, `Context ${id} no longer exists`));
    const answer = await blobResponse(c.env.BLOBS, row.profile, "application/gzip");
    if (!answer) throw new ApiError(404, `Context ${id} has no saved profile yet`);
    return answer;
  },
);

nodeArtifacts.openapi(
  createRoute({
    method: "put",
    path: path("context"),
    tags,
    middleware: [nodeAuth] as const,
    request: { params: NodeSessionParam, body: binaryBody("application/gzip", `tar.gz of the user-data dir, at most ${ArtifactLimits.contextBytes} bytes`) },
    responses: { 200: json(Stored, "Saved: the context's profile from now on"), ...refusals },
  }),
  async (c) => {
    const { sessionId } = c.req.valid("param");
    const { projectId, contextId } = unwrap(await sessionStub(c.env, sessionId).nodeMayWrite("context"));
    unwrap(await c.env.PROJECTS.getByName(projectId).mayCommitProfile(contextId!, sessionId));
    const chunks = await rawBody(c.req.raw, { maxBytes: ArtifactLimits.contextBytes, what: "profile" });
    return c.json(await storeProfile(c.env, projectId, contextId!, chunks, sessionId), 200);
  },
);

nodeArtifacts.openapi(
  createRoute({
    method: "put",
    path: path("downloads"),
    tags,
    middleware: [nodeAuth] as const,
    request: { params: NodeSessionParam, body: binaryBody("application/zip", `zip of every download so far, at most ${ArtifactLimits.downloadsBytes} bytes`) },
    responses: { 200: json(Stored, "Stored: it replaces the previous zip"), ...refusals },
  }),
  async (c) => {
    const { sessionId } = c.req.valid("param");
    unwrap(await sessionStub(c.env, sessionId).nodeMayWrite("downloads"));
    const chunks = await rawBody(c.req.raw, { maxBytes: ArtifactLimits.downloadsBytes, what: "downloads" });
    return c.json(await storeDownloads(c.env, sessionId, chunks), 200);
  },
);

nodeArtifacts.openapi(
  createRoute({
    method: "post",
    path: path("logs"),
    tags,
    middleware: [nodeAuth] as const,
    request: { params: NodeSessionParam, body: { ...jsonBody(LogBatch), required: true } },
    responses: { 200: json(Appended, "Appended; the oldest entries beyond the bounds are dropped"), ...refusals },
  }),
  async (c) => {
    const entries = c.req.valid("json").entries.map((entry) => {
      const json = JSON.stringify(entry);
      return { json, bytes: utf8Bytes(json) };
    });
    const big = entries.findIndex((e) => e.bytes > ArtifactLimits.logEntryBytes);
    if (big >= 0) throw new ApiError(413, `entries.${big}: larger than ${ArtifactLimits.logEntryBytes} bytes as JSON (truncate its bodies)`);
    return c.json(unwrap(await sessionStub(c.env, c.req.valid("param").sessionId).appendLogs(entries)), 200);
  },
);

// Fields beyond the contract's are kept: rrweb events carry more than the contract names.
const RecordingBatchBody = z.object({ events: z.array(RecordingEvent.loose()).max(ArtifactLimits.batchItems) });

nodeArtifacts.openapi(
  createRoute({
    method: "post",
    path: path("recording"),
    tags,
    middleware: [nodeAuth] as const,
    request: { params: NodeSessionParam, body: { ...jsonBody(RecordingBatchBody), required: true } },
    responses: { 200: json(Appended, "Appended"), ...refusals },
  }),
  async (c) => {
    const { sessionId } = c.req.valid("param");
    const { events } = c.req.valid("json");
    // Stored as the items of the JSON array clients get, with the session's id as the SDK's SessionRecording has it.
    const chunk = events.map((e) => JSON.stringify({ ...e, data: e.data ?? {}, sessionId })).join(",");
    return c.json(unwrap(await sessionStub(c.env, sessionId).appendRecording(chunk, events.length, utf8Bytes(chunk))), 200);
  },
);

nodeArtifacts.openapi(
  createRoute({
    method: "post",
    path: path("usage"),
    tags,
    middleware: [nodeAuth] as const,
    request: { params: NodeSessionParam, body: { ...jsonBody(NodeUsage), required: true } },
    responses: { 200: json(NodeUsage, "The session's count now (a smaller total than the one kept changes nothing)"), ...refusals },
  }),
  async (c) => c.json(unwrap(await sessionStub(c.env, c.req.valid("param").sessionId).recordUsage(c.req.valid("json").proxyBytes)), 200),
);
