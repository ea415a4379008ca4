/** The admin API's guard: `Authorization: Bearer <ADMIN_TOKEN>`; with no ADMIN_TOKEN set, admin is off. */
import { createMiddleware } from "hono/factory";
import { secret, type AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { bearerToken, sameSecret } from "../auth/secrets-compare.ts";

export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const configured = secret(c.env, "ADMIN_TOKEN");
  if (!configured) throw new ApiError(403, "The admin API is disabled: ADMIN_TOKEN is not set");
  if (!(await sameSecret(bearerToken(c.req.header("authorization")), configured))) throw new ApiError(401, "Invalid admin token");
  await next();
});
