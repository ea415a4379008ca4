/**
 * Gives every request an id (echoed as `x-request-id`) and logs one JSON line when it is answered:
 * method, path (never the query, which may carry a token), status, duration and project.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { log } from "../log.ts";

export const requestLog = createMiddleware<AppEnv>(async (c, next) => {
  const requestId = crypto.randomUUID();
  const started = Date.now();
  c.set("requestId", requestId);
  await next();
  c.header("x-request-id", requestId);
  log(c.res.status >= 500 ? "error" : "info", "request", {
    requestId,
    method: c.req.method,
    path: c.req.path,
    status: c.res.status,
    ms: Date.now() - started,
    projectId: c.get("projectId"),
  });
});
