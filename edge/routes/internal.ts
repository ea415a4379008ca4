/**
 * Callbacks under /internal: the browser node's reports (bearer node token, bound to its own
 * session) and ECS task-state events as EventBridge's API destination posts them (shared-secret
 * header). Neither takes an API key.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { sessionIdFromStartedBy, TASK_EVENTS_PATH, TASK_EVENTS_SECRET_HEADER } from "../node-protocol.ts";
import { EcsTaskStateChange, HeartbeatReply, NodeExit, NodeHeartbeat, NodeReady } from "../schemas/node-messages.ts";
import { secret, type AppEnv } from "../env.ts";
import { ApiError, describeZodError, unwrap, validationHook } from "../errors.ts";
import { sameSecret } from "../auth/secrets-compare.ts";
import { nodeAuth } from "../middleware/node-token.ts";
import { error, errors, json, jsonBody } from "../schemas/common.ts";
import { log } from "../log.ts";
import { SESSION_ID } from "../sessions/session-record.ts";
import { sessionStub } from "./scope.ts";

export const internal = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
const tags = ["internal"];
export const NodeSessionParam = z.object({
  sessionId: z.string().regex(SESSION_ID, "not a session id").openapi({ param: { name: "sessionId", in: "path" } }),
});
const Status = z.object({ status: z.string() });

const nodeRoute = <S extends z.ZodType, R extends z.ZodType>(kind: string, body: S, reply: R) =>
  createRoute({
    method: "post",
    path: `/internal/nodes/{sessionId}/${kind}`,
    tags,
    middleware: [nodeAuth] as const,
    request: { params: NodeSessionParam, body: { ...jsonBody(body), required: true } },
    responses: { 200: json(reply, "Accepted"), ...errors, 409: error("The session is over: the node should exit") },
  });


internal.openapi(nodeRoute("ready", NodeReady, Status), async (c) =>
  c.json(unwrap(await sessionStub(c.env, c.req.valid("param").sessionId).ready(c.req.valid("json"))), 200),
);

internal.openapi(nodeRoute("heartbeat", NodeHeartbeat, HeartbeatReply), async (c) =>
  c.json(await sessionStub(c.env, c.req.valid("param").sessionId).heartbeat(), 200),
);

internal.openapi(nodeRoute("exit", NodeExit, Status), async (c) =>
  c.json(unwrap(await sessionStub(c.env, c.req.valid("param").sessionId).exit(c.req.valid("json"))), 200),
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
    // Tasks started by anyone else share the cluster's event stream: acknowledge and ignore them.
    if (!sessionId || !SESSION_ID.test(sessionId)) return c.json({ applied: false }, 200);
    log("info", "task_event", { sessionId, taskArn: detail.taskArn, lastStatus: detail.lastStatus });
    await c.env.SESSIONS.getByName(sessionId).taskEvent(detail);
    return c.json({ applied: true }, 200);
  },
);
