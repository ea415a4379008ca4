/**
 * The guard of a node's routes (`/internal/nodes/{sessionId}/...`): `Authorization: Bearer <node
 * token>` whose `sub` is that session. It runs before the body is read or parsed, so nobody else
 * can make the edge take in a node-sized body.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { bearerToken } from "../auth/secrets-compare.ts";
import { signingKey, verifyNodeToken } from "../tokens.ts";

export const nodeAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw new ApiError(401, "Missing node token");
  await verifyNodeToken(await signingKey(c.env), token, c.req.param("sessionId") ?? "");
  await next();
});
