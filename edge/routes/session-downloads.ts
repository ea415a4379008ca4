/**
 * `GET /v1/sessions/{id}/downloads`: a zip of the files the session's browser downloaded. The node
 * PUTs that zip every ARTIFACT_FLUSH_INTERVAL_MS while something changed, and at its exit; for a
 * running session the edge first asks the node to flush (NODE_DOWNLOADS_FLUSH_PATH), so the answer
 * holds what was downloaded up to the request. No downloads: an empty zip (clients unzip it).
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { NODE_DOWNLOADS_FLUSH_PATH } from "../node-protocol.ts";
import type { AppEnv } from "../env.ts";
import { unwrap, validationHook } from "../errors.ts";
import { readConfig } from "../config.ts";
import { log } from "../log.ts";
import { signCdpToken, signingKey } from "../tokens.ts";
import { errors } from "../schemas/common.ts";
import { SessionIdParam } from "../schemas/session.ts";
import { binaryAnswer } from "../schemas/artifacts.ts";
import { blobResponse } from "../artifacts/blob-store.ts";
import { EMPTY_ZIP } from "../artifacts/zip.ts";
import { requestNode } from "../sessions/node-http.ts";
import type { NodeAddress } from "../sessions/session-record.ts";
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
      await askForFlush(c.env, { sessionId: id.toLowerCase(), projectId, ...downloads.live });
      downloads = unwrap(await session.downloads(projectId));
    }
    const headers = { "content-disposition": `attachment; filename="${id.toLowerCase()}-downloads.zip"` };
    const stored = await blobResponse(c.env.BLOBS, downloads.blob, "application/zip");
    if (!stored) return c.body(EMPTY_ZIP, 200, { ...headers, "content-type": "application/zip", "cache-control": "no-store" });
    stored.headers.set("content-disposition", headers["content-disposition"]);
    return stored;
  },
);

/** Best effort: a node that does not answer leaves the last stored zip to be served. */
async function askForFlush(env: AppEnv["Bindings"], s: { sessionId: string; projectId: string; node: NodeAddress; expiresAt: number }) {
  const scheme = readConfig(env).connectScheme;
  try {
    const token = await signCdpToken(await signingKey(env), { sessionId: s.sessionId, projectId: s.projectId, expiresAtMs: Math.min(s.expiresAt, Date.now() + 60_000) });
    const answer = await requestNode(
      s.node,
      { method: "POST", path: NODE_DOWNLOADS_FLUSH_PATH, headers: { Authorization: `Bearer ${token}` } },
      { tls: scheme === "wss", timeoutMs: FLUSH_TIMEOUT_MS },
    );
    if (answer.status >= 300) log("warn", "session.downloads_flush_refused", { sessionId: s.sessionId, status: answer.status });
  } catch (error) {
    log("warn", "session.downloads_flush_failed", { sessionId: s.sessionId, error: String(error) });
  }
}
