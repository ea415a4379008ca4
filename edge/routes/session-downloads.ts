/**
 * `GET /v1/sessions/{id}/downloads`: a zip of the files the session's browser downloaded. The node
 * PUTs that zip every ARTIFACT_FLUSH_INTERVAL_MS while something changed, and at its exit; for a
 * running session the edge first asks the node over its link to flush (`flush-downloads`), so the
 * answer holds what was downloaded up to the request. No downloads: an empty zip (clients unzip it).
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { unwrap, validationHook } from "../errors.ts";
import { log } from "../log.ts";
import { errors } from "../schemas/common.ts";
import { SessionIdParam } from "../schemas/session.ts";
import { binaryAnswer } from "../schemas/artifacts.ts";
import { blobResponse } from "../artifacts/blob-store.ts";
import { EMPTY_ZIP } from "../artifacts/zip.ts";
import { sessionStub } from "./scope.ts";

export const sessionDownloads = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

/** Long enough for a node to zip and PUT its downloads; past it the last stored zip is served. */
const FLUSH_TIMEOUT_MS = 20_000;

sessionDownloads.openapi(
  createRoute({
    method: "get",
    path: "/v1/sessions/{id}/downloads",
    tags: ["sessions"],
    request: { params: SessionIdParam },
    responses: { 200: binaryAnswer("application/zip", "Every file the browser downloaded (an empty zip when none)"), ...errors },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const projectId = c.get("projectId");
    const session = sessionStub(c.env, id);
    let downloads = unwrap(await session.downloads(projectId));
    if (downloads.live) {
      // Best effort: a node that does not answer leaves the last stored zip to be served.
      const flushed = await session.callNode(projectId, { op: "flush-downloads" }, FLUSH_TIMEOUT_MS);
      if (!flushed.ok) log("warn", "session.downloads_flush_failed", { sessionId: id.toLowerCase(), status: flushed.error.status, error: flushed.error.message });
      downloads = unwrap(await session.downloads(projectId));
    }
    const headers = { "content-disposition": `attachment; filename="${id.toLowerCase()}-downloads.zip"` };
    const stored = await blobResponse(c.env.BLOBS, downloads.blob, "application/zip");
    if (!stored) return c.body(EMPTY_ZIP, 200, { ...headers, "content-type": "application/zip", "cache-control": "no-store" });
    stored.headers.set("content-disposition", headers["content-disposition"]);
    return stored;
  },
);
