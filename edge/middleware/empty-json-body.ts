/**
 * Older SDKs send `Content-Type: application/json` with an empty body (a bodyless POST): read
 * that as `{}` instead of failing the JSON parse, so the route's schema decides what is missing.
 * Only a body that may be empty (no length, or length 0) is looked at: an archive or a batch with
 * a length is never read here, before its route's own checks.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";

export const emptyJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  const type = c.req.header("content-type") ?? "";
  const length = c.req.header("content-length");
  if (c.req.method !== "GET" && c.req.method !== "HEAD" && /json/i.test(type) && (length === undefined || length === "0")) {
    // Hono parses JSON from its cached text (a promise at run time, whatever its type says).
    if ((await c.req.text()).trim() === "") (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve("{}");
  }
  await next();
});
