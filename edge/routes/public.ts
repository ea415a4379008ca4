/** What is served without any key: liveness and the JWKS nodes verify CDP tokens with. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { validationHook } from "../errors.ts";
import { jwks, signingKey } from "../tokens.ts";
import { json } from "../schemas/common.ts";

export const publicRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

publicRoutes.openapi(
  createRoute({ method: "get", path: "/health", tags: ["public"], responses: { 200: json(z.object({ status: z.literal("ok") }), "Alive") } }),
  (c) => c.json({ status: "ok" as const }, 200),
);

const Jwk = z.object({ kty: z.string(), crv: z.string(), x: z.string(), y: z.string(), kid: z.string(), alg: z.string(), use: z.string() }).partial();

publicRoutes.openapi(
  createRoute({
    method: "get",
    path: "/.well-known/jwks.json",
    tags: ["public"],
    responses: { 200: json(z.object({ keys: z.array(Jwk) }), "The public key of the CDP and node tokens") },
  }),
  async (c) => c.json(jwks(await signingKey(c.env)), 200, { "cache-control": "public, max-age=300" }),
);
