/**
 * CDP through the edge, under `cdpPathPrefix(session)` (connectUrl in CONNECT_MODE=edge):
 * - WebSocket `/cdp/<s>`, `/cdp/<s>/devtools/browser[/<id>]`, `/cdp/<s>/devtools/page/<target>`.
 *   The CDP token (`signingKey` query, `Authorization: Bearer`, or `x-bb-signing-key`) is checked
 *   here with the node proxy's rules BEFORE the upgrade reaches the session's Durable Object,
 *   which pairs the client with a channel from its node; a refusal is a 401 naming the reason.
 * - HTTP `/cdp/<s>/json[/version|/list|/protocol]` (a trailing slash too; token required):
 *   Chromium's answers, asked of the node over its link, with every URL pointing back here and
 *   carrying the caller's token. Playwright's http form fetches `<path>/json/version/?signingKey=`
 *   and connects to the `webSocketDebuggerUrl` it finds, verbatim.
 * - HTTP `/cdp/<s>/devtools/<file>`: the DevTools frontend's files, public as Chromium's are
 *   (subresources cannot carry a token; every socket the frontend opens does).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { cdpPathPrefix } from "../node-protocol.ts";
import type { AppEnv } from "../env.ts";
import { ApiError, validationHook, type Outcome } from "../errors.ts";
import { readConfig } from "../config.ts";
import { cdpTokenFrom, verifyCdpToken } from "../cdp-token.ts";
import { signingKey } from "../tokens.ts";
import { FrontendFile } from "../schemas/node-messages.ts";
import { edgeEndpoint, rewriteTarget } from "../sessions/connect-urls.ts";
import { SESSION_ID } from "../sessions/session-record.ts";
import { VERIFIED_CLIENT } from "../durable/node-sockets.ts";
import { edgeOrigin } from "./scope.ts";
import { requireUpgrade } from "./internal.ts";

export const cdp = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const SOCKET_PATH = /^(\/|\/devtools\/browser(\/[A-Za-z0-9-]{1,64})?|\/devtools\/page\/[A-Za-z0-9-]{1,64})?$/;
const JSON_PATHS: Record<string, "/json/version" | "/json/list" | "/json/protocol"> = {
  "/json": "/json/list",
  "/json/list": "/json/list",
  "/json/version": "/json/version",
  "/json/protocol": "/json/protocol",
};
/** Frontend files only: the sockets under /devtools/page|browser are upgrades, never files. */
const FRONTEND_FILE = /^\/devtools\/(?!page\/|browser\/)[A-Za-z0-9_\-./]+$/;

cdp.get("/cdp/:sessionId/*", (c) => serve(c));
cdp.get("/cdp/:sessionId", (c) => serve(c));

async function serve(c: Context<AppEnv>): Promise<Response> {
  const sessionId = c.req.param("sessionId") ?? "";
  if (!SESSION_ID.test(sessionId)) throw new ApiError(404, "Session not found");
  const rest = c.req.path.slice(cdpPathPrefix(sessionId).length);
  if (SOCKET_PATH.test(rest)) {
    const { claims } = await verified(c, sessionId);
    requireUpgrade(c);
    const headers = new Headers(c.req.raw.headers);
    headers.set(VERIFIED_CLIENT.project, claims.pid);
    headers.set(VERIFIED_CLIENT.expiresAt, String(claims.exp * 1000));
    return c.env.SESSIONS.getByName(sessionId).fetch(new Request(c.req.raw, { headers }));
  }
  const jsonPath = JSON_PATHS[rest.replace(/\/$/, "")];
  if (jsonPath) {
    const { claims, token } = await verified(c, sessionId);
    const value = fromNode(await c.env.SESSIONS.getByName(sessionId).clientJson(claims.pid, jsonPath));
    if (jsonPath === "/json/protocol") return c.json(value as object, 200);
    const endpoint = edgeEndpoint(edgeOrigin(readConfig(c.env).edgePublicUrl, c.req.url), sessionId);
    const rewritten = Array.isArray(value) ? value.map((t) => rewriteTarget(t, endpoint, token)) : rewriteTarget(value, endpoint, token);
    return c.json(rewritten as object, 200, { "cache-control": "no-store" });
  }
  if (FRONTEND_FILE.test(rest) && !rest.includes("..")) {
    // The query is left behind: it is the frontend's own (`ws=...signingKey=...`), not Chromium's.
    const answer = fromNode(await c.env.SESSIONS.getByName(sessionId).frontendFile(rest));
    const file = FrontendFile.safeParse(answer);
    if (!file.success) throw new ApiError(502, "The session's browser node sent no file");
    const body = Uint8Array.from(atob(file.data.body), (ch) => ch.charCodeAt(0));
    return new Response(file.data.status === 204 || file.data.status === 304 ? null : body, {
      status: file.data.status,
      headers: file.data.contentType ? { "content-type": file.data.contentType } : {},
    });
  }
  throw new ApiError(404, `Not found: GET ${c.req.path}`);
}

/** A call's answer; the node's own failures (5xx, no answer) are a 502 for the client. */
function fromNode<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  const { status, message, retry } = outcome.error;
  throw new ApiError(status < 500 ? status : 502, message, { retry, cause: status < 500 ? undefined : outcome.error });
}

/** The caller's CDP token for this session, or a 401 naming why not (the node proxy's words). */
async function verified(c: Context<AppEnv>, sessionId: string) {
  const token = cdpTokenFrom({ signingKey: new URL(c.req.url).searchParams.get("signingKey"), authorization: c.req.header("authorization"), signingKeyHeader: c.req.header("x-bb-signing-key") });
  const check = await verifyCdpToken((await signingKey(c.env)).keySet, token, { sessionId });
  if (!check.ok) throw new ApiError(401, check.reason);
  return check;
}
