/**
 * Older SDKs send `Content-Type: application/json` with an empty body (a bodyless POST): read
 * that as `{}` instead of failing the JSON parse, so the route's schema decides what is missing.
 * Only a body that may be empty (no length, or length 0) is looked at, and never one of the routes
 * that stream large bodies: those are read only by their route, after its own checks.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { bodyLimitOf, DEFAULT_BODY_BYTES } from "./body-limit.ts";

export const emptyJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  const type = c.req.header("content-type") ?? "";
  const length = c.req.header("content-length");
  const mayBeEmpty = length === undefined || length === "0";
  if (c.req.method !== "GET" && c.req.method !== "HEAD" && /json/i.test(type) && mayBeEmpty && bodyLimitOf(c.req.method, c.req.path).bytes === DEFAULT_BODY_BYTES) {
    // Hono parses JSON from its cached text (a promise at run time, whatever its type says).
    if ((await c.req.text()).trim() === "") (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve("{}");
  }
  await next();
});
