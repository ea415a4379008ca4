/**
 * API-key authentication for /v1: `X-BB-API-Key` (the Browserbase SDK), `x-wc-api-key`, or
 * `Authorization: Bearer`. The key's hash is looked up in KV; its project becomes the request's
 * `projectId`, the only project the request can ever see.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { lookupApiKey } from "../auth/api-keys.ts";
import { bearerToken } from "../auth/secrets-compare.ts";

export const apiKeyAuth = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header("x-bb-api-key") || c.req.header("x-wc-api-key") || bearerToken(c.req.header("authorization"));
  if (!key) throw new ApiError(401, "Missing API key: send it in the X-BB-API-Key header");
  const owner = await lookupApiKey(c.env.API_KEYS, key);
  if (!owner) throw new ApiError(401, "Invalid API key");
  c.set("projectId", owner.projectId);
  await next();
});
