/**
 * `GET /v1/sessions/{id}/logs`: the session's CDP traffic as SessionLog entries, oldest first
 * (at most ArtifactLimits.logEntries / logBytes: the oldest are dropped first). A session created
 * with `browserSettings.logSession: false` has none: `[]`.
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { unwrap, validationHook } from "../errors.ts";
import { errors, json } from "../schemas/common.ts";
import { SessionIdParam } from "../schemas/session.ts";
import { rawJson, SessionLog } from "../schemas/artifacts.ts";
import { sessionStub } from "./scope.ts";

export const sessionLogs = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

sessionLogs.openapi(
  createRoute({
    method: "get",
    path: "/v1/sessions/{id}/logs",
    tags: ["sessions"],
    request: { params: SessionIdParam },
    responses: { 200: json(SessionLog.array(), "The session's CDP log, oldest first"), ...errors },
  }),
  async (c) => {
    // Entries are stored as the JSON they are served as: joined, not parsed again.
    const entries = unwrap(await sessionStub(c.env, c.req.valid("param").id).logs(c.get("projectId")));
    return rawJson(`[${entries.join(",")}]`);
  },
);
