/**
 * Callbacks under /internal: the browser node's reports (bearer node token, bound to its own
 * session) and ECS task-state events as EventBridge's API destination posts them (shared-secret
 * header). Neither takes an API key.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import {
  EcsTaskStateChange,
  HeartbeatReply,
  NodeExit,
  NodeHeartbeat,
  NodeReady,
  sessionIdFromStartedBy,
  TASK_EVENTS_PATH,
  TASK_EVENTS_SECRET_HEADER,
} from "../node-protocol.ts";
import { secret, type AppEnv, type EdgeEnv } from "../env.ts";
import { ApiError, describeZodError, unwrap, validationHook } from "../errors.ts";
import { bearerToken, sameSecret } from "../auth/secrets-compare.ts";
import { signingKey, verifyNodeToken } from "../tokens.ts";
import { error, errors, json, jsonBody } from "../schemas/common.ts";
import { log } from "../log.ts";
import { SESSION_ID } from "../sessions/session-record.ts";

export const internal = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
const tags = ["internal"];
const SessionParam = z.object({ sessionId: z.string().regex(SESSION_ID, "not a session id").openapi({ param: { name: "sessionId", in: "path" } }) });
const Status = z.object({ status: z.string() });

/** The session's object, once the bearer token proves the caller is that session's node. */
async function nodeSession(env: EdgeEnv, authorization: string | undefined, sessionId: string) {
  const token = bearerToken(authorization);
  if (!token) throw new ApiError(401, "Missing node token");
  await verifyNodeToken(await signingKey(env), token, sessionId);
  return env.SESSIONS.getByName(sessionId);
}

const nodeRoute = <S extends z.ZodType, R extends z.ZodType>(kind: string, body: S, reply: R) =>
  createRoute({
    method: "post",
    path: `/internal/nodes/{sessionId}/${kind}`,
    tags,
    request: { params: SessionParam, body: { ...jsonBody(body), required: true } },
    responses: { 200: json(reply, "Accepted"), ...errors, 409: error("The session is over: the node should exit") },
  });

internal.openapi(nodeRoute("ready", NodeReady, Status), async (c) => {
  const session = await nodeSession(c.env, c.req.header("authorization"), c.req.valid("param").sessionId);
  return c.json(unwrap(await session.ready(c.req.valid("json"))), 200);
});

internal.openapi(nodeRoute("heartbeat", NodeHeartbeat, HeartbeatReply), async (c) => {
  const session = await nodeSession(c.env, c.req.header("authorization"), c.req.valid("param").sessionId);
  return c.json(await session.heartbeat(), 200);
});

internal.openapi(nodeRoute("exit", NodeExit, Status), async (c) => {
  const session = await nodeSession(c.env, c.req.header("authorization"), c.req.valid("param").sessionId);
  return c.json(unwrap(await session.exit(c.req.valid("json"))), 200);
});

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
    // Tasks started by anyone else share the cluster's event stream: acknowledge and ignore them.
    if (!sessionId || !SESSION_ID.test(sessionId)) return c.json({ applied: false }, 200);
    log("info", "task_event", { sessionId, taskArn: detail.taskArn, lastStatus: detail.lastStatus });
    await c.env.SESSIONS.getByName(sessionId).taskEvent(detail);
    return c.json({ applied: true }, 200);
  },
);
