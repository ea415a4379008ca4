/**
 * The edge's HTTP surface: one Hono app. Order matters only for the guards: /v1 needs an API key
 * (except its OpenAPI document), /admin the admin token; /internal, /cdp and /live authenticate per route.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./env.ts";
import { errorResponse } from "./errors.ts";
import { requestLog } from "./middleware/request-log.ts";
import { apiKeyAuth } from "./middleware/api-key.ts";
import { adminAuth } from "./middleware/admin-token.ts";
import { emptyJsonBody } from "./middleware/empty-json-body.ts";
import { bodyLimits } from "./middleware/body-limit.ts";
import { sessions } from "./routes/sessions.ts";
import { projects } from "./routes/projects.ts";
import { admin } from "./routes/admin.ts";
import { internal } from "./routes/internal.ts";
import { notBuilt } from "./routes/not-built.ts";
import { extensions } from "./routes/extensions.ts";
import { contexts } from "./routes/contexts.ts";
import { sessionDownloads } from "./routes/session-downloads.ts";
import { sessionUploads } from "./routes/session-uploads.ts";
import { sessionLogs } from "./routes/session-logs.ts";
import { sessionRecording } from "./routes/session-recording.ts";
import { nodeArtifacts } from "./routes/node-artifacts.ts";
import { publicRoutes } from "./routes/public.ts";
import { cdp } from "./routes/cdp.ts";
import { live } from "./routes/live.ts";

export const OPENAPI_PATH = "/v1/openapi.json";

export function createApp() {
  const app = new OpenAPIHono<AppEnv>();
  app.use(requestLog);
  app.use(bodyLimits);
  app.use(emptyJsonBody);
  app.use("/v1/*", async (c, next) => (c.req.path === OPENAPI_PATH ? next() : apiKeyAuth(c, next)));
  app.use("/admin/*", adminAuth);

  app.route("/", publicRoutes);
  app.route("/", sessions);
  app.route("/", sessionDownloads);
  app.route("/", sessionUploads);
  app.route("/", sessionLogs);
  app.route("/", sessionRecording);
  app.route("/", projects);
  app.route("/", extensions);
  app.route("/", contexts);
  app.route("/", notBuilt);
  app.route("/", admin);
  app.route("/", internal);
  app.route("/", nodeArtifacts);
  app.route("/", cdp);
  app.route("/", live);

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
