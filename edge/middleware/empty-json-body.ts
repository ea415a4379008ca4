/**
 * Older SDKs send `Content-Type: application/json` with an empty body (a bodyless POST): read
 * that as `{}` instead of failing the JSON parse, so the route's schema decides what is missing.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";

export const emptyJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  const type = c.req.header("content-type") ?? "";
  if (c.req.method !== "GET" && c.req.method !== "HEAD" && /json/i.test(type)) {
    // Hono parses JSON from its cached text (a promise at run time, whatever its type says).
    if ((await c.req.text()).trim() === "") (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve("{}");
  }
  await next();
});
