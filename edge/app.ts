/**
 * The edge's HTTP surface: one Hono app. Order matters only for the guards: /v1 needs an API key
 * (except its OpenAPI document), /admin the admin token; /internal authenticates per route.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./env.ts";
import { ApiError, errorResponse } from "./errors.ts";
import { requestLog } from "./middleware/request-log.ts";
import { apiKeyAuth } from "./middleware/api-key.ts";
import { adminAuth } from "./middleware/admin-token.ts";
import { emptyJsonBody } from "./middleware/empty-json-body.ts";
import { sessions } from "./routes/sessions.ts";
import { projects } from "./routes/projects.ts";
import { admin } from "./routes/admin.ts";
import { internal } from "./routes/internal.ts";
import { notBuilt } from "./routes/not-built.ts";
import { publicRoutes } from "./routes/public.ts";

export const OPENAPI_PATH = "/v1/openapi.json";

export function createApp() {
  const app = new OpenAPIHono<AppEnv>();
  app.use(requestLog);
  app.use(
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: () => {
        throw new ApiError(413, "Request body larger than 1 MiB");
      },
    }),
  );
  app.use(emptyJsonBody);
  app.use("/v1/*", async (c, next) => (c.req.path === OPENAPI_PATH ? next() : apiKeyAuth(c, next)));
  app.use("/admin/*", adminAuth);

  app.route("/", publicRoutes);
  app.route("/", sessions);
  app.route("/", projects);
  app.route("/", notBuilt);
  app.route("/", admin);
  app.route("/", internal);

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "apiKey", in: "header", name: "X-BB-API-Key" });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer" });
  app.doc(OPENAPI_PATH, {
    openapi: "3.0.0",
    info: { title: "Wallcrawler edge", version: "1.0.0", description: "The Browserbase-compatible session API" },
    security: [{ apiKey: [] }],
  });

  app.notFound((c) => c.json({ message: `Not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => errorResponse(c, error));
  return app;
}
