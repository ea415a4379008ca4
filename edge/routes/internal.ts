/**
 * Under /internal: what browser nodes open and fetch (each behind a token bound to its own
 * session), and ECS task-state events as EventBridge's API destination posts them (shared-secret
 * header). None takes an API key.
 * - `GET pools/{pool}/members/{member}/link`: a pool member's pool link, a WebSocket upgrade with its bootstrap token.
 * - `GET nodes/{session}/link`: the node's session link, a WebSocket upgrade with its link token.
 * - `GET nodes/{session}/cdp/{channel}`: one CDP client's channel, a WebSocket upgrade with its node token.
 * - `GET nodes/{session}/uploads/{name}`: a client's upload the edge staged for the node (node token).
 * Tokens are checked before an upgrade is handed to the session's Durable Object.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { memberIdFromStartedBy, POOL_NAME, sessionIdFromStartedBy, TASK_EVENTS_PATH, TASK_EVENTS_SECRET_HEADER } from "../node-protocol.ts";
import { EcsTaskStateChange } from "../schemas/node-messages.ts";
import { secret, type AppEnv } from "../env.ts";
import { ApiError, describeZodError, validationHook } from "../errors.ts";
import { bearerToken, sameSecret } from "../auth/secrets-compare.ts";
import { nodeAuth } from "../middleware/node-token.ts";
import { errors, json } from "../schemas/common.ts";
import { binaryAnswer } from "../schemas/artifacts.ts";
import { blobKey, blobResponse } from "../artifacts/blob-store.ts";
import { log } from "../log.ts";
import { signingKey, verifyLinkToken, verifyPoolLinkToken } from "../tokens.ts";
import { readConfig } from "../config.ts";
import { poolSettings } from "../pool/pool-settings.ts";
import { edgeOrigin } from "./scope.ts";
import { SESSION_ID } from "../sessions/session-record.ts";

export const internal = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
const tags = ["internal"];
export const NodeSessionParam = z.object({
  sessionId: z.string().regex(SESSION_ID, "not a session id").openapi({ param: { name: "sessionId", in: "path" } }),
});

/** A WebSocket upgrade, or a 426 that says so. */
export function requireUpgrade(c: Context<AppEnv>) {
  if (c.req.header("upgrade")?.toLowerCase() === "websocket") return;
  c.header("upgrade", "websocket"); // kept by the error's answer, which is built on the same context
  throw new ApiError(426, "Expected a WebSocket upgrade");
}

const sessionIdOf = (c: Context<AppEnv>) => {
  const id = c.req.param("sessionId") ?? "";
  if (!SESSION_ID.test(id)) throw new ApiError(404, "Session not found");
  return id;
};

internal.get("/internal/pools/:pool/members/:memberId/link", async (c) => {
  const pool = c.req.param("pool");
  const memberId = c.req.param("memberId");
  if (!POOL_NAME.test(pool) || !SESSION_ID.test(memberId)) throw new ApiError(404, "Pool member not found");
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw new ApiError(401, "Missing bootstrap token");
  await verifyPoolLinkToken(await signingKey(c.env), token, pool, memberId);
  requireUpgrade(c);
  return c.env.POOLS.getByName(pool).fetch(c.req.raw);
});

internal.get("/internal/nodes/:sessionId/link", async (c) => {
  const sessionId = sessionIdOf(c);
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw new ApiError(401, "Missing link token");
  await verifyLinkToken(await signingKey(c.env), token, sessionId);
  requireUpgrade(c);
  return c.env.SESSIONS.getByName(sessionId).fetch(c.req.raw);
});

internal.get("/internal/nodes/:sessionId/cdp/:channel", nodeAuth, async (c) => {
  const sessionId = sessionIdOf(c);
  requireUpgrade(c);
  return c.env.SESSIONS.getByName(sessionId).fetch(c.req.raw);
});

internal.openapi(
  createRoute({
    method: "get",
    path: "/internal/nodes/{sessionId}/uploads/{name}",
    tags,
    middleware: [nodeAuth] as const,
    request: { params: NodeSessionParam.extend({ name: z.string().min(1).openapi({ param: { name: "name", in: "path" } }) }) },
    responses: { 200: binaryAnswer("application/octet-stream", "The staged file, as the client sent it"), ...errors },
  }),
  async (c) => {
    const { sessionId, name } = c.req.valid("param");
    const staged = await blobResponse(c.env.BLOBS, blobKey.stagedUpload(sessionId, name), "application/octet-stream");
    if (!staged) throw new ApiError(404, `No upload ${name} is staged for this session`);
    return staged;
  },
);

internal.openapi(
  createRoute({
    method: "post",
    path: TASK_EVENTS_PATH,
    tags,
    request: { body: { content: { "application/json": { schema: z.unknown() } }, required: true } },
    responses: { 200: json(z.object({ applied: z.boolean() }), "Received (EventBridge retries anything else)"), ...errors },
  }),
  async (c) => {
    const configured = secret(c.env, "TASK_EVENTS_SECRET");
    if (!(await sameSecret(c.req.header(TASK_EVENTS_SECRET_HEADER), configured)))
      throw new ApiError(401, configured ? "Invalid task-events secret" : "Task events are off: TASK_EVENTS_SECRET is not set");
    const parsed = EcsTaskStateChange.safeParse(c.req.valid("json"));
    if (!parsed.success) throw new ApiError(400, describeZodError(parsed.error));
    const { detail } = parsed.data;
    const sessionId = sessionIdFromStartedBy(detail.startedBy);
    const memberId = memberIdFromStartedBy(detail.startedBy);
    if (sessionId && SESSION_ID.test(sessionId)) {
      log("info", "task_event", { sessionId, taskArn: detail.taskArn, lastStatus: detail.lastStatus });
      await c.env.SESSIONS.getByName(sessionId).taskEvent(detail);
      return c.json({ applied: true }, 200);
    }
    if (memberId && SESSION_ID.test(memberId)) {
      // A warm pool member's task: its pool passes it on to the session that claimed it, or forgets it.
      const config = readConfig(c.env);
      const settings = poolSettings(config, edgeOrigin(config.edgePublicUrl, c.req.url));
      log("info", "task_event", { memberId, taskArn: detail.taskArn, lastStatus: detail.lastStatus });
      await c.env.POOLS.getByName(settings.name).taskEvent(settings, memberId, detail);
      return c.json({ applied: true }, 200);
    }
    // Tasks started by anyone else share the cluster's event stream: acknowledge and ignore them.
    return c.json({ applied: false }, 200);
  },
);
