/**
 * The live view (docs/live-view.md), authorized by its own token (audience `wallcrawler-live`,
 * `token` query), never a CDP token or an API key:
 * - GET `/live/<s>?token=`: the page. Refused with 401 JSON (forged, expired, another session's)
 *   before anything is served. The only responses that may be framed by another origin
 *   (`frame-ancestors *`); its CSP allows nothing else but its own script and its socket.
 * - GET `/live/view.js`: the page's script (public and static, like the DevTools frontend's files).
 * - WebSocket `/live/<s>/socket?token=`: frames out, input in. Checked here before the upgrade,
 *   then the session's object asks the node for a channel attached to its screencast hub.
 *   `readOnly=true` in the query, or a read-only token, makes the node drop the viewer's input.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError, unwrap, validationHook } from "../errors.ts";
import { readConfig } from "../config.ts";
import { verifyLiveToken } from "../cdp-token.ts";
import { signingKey } from "../tokens.ts";
import { SESSION_ID } from "../sessions/session-record.ts";
import { VERIFIED_CLIENT } from "../durable/node-sockets.ts";
import { liveSocketUrl } from "../live/live-urls.ts";
import { LIVE_VIEW_SCRIPT, liveViewHtml } from "../live/view-page.ts";
import { edgeOrigin } from "./scope.ts";
import { requireUpgrade } from "./internal.ts";

export const live = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const TARGET_ID = /^[A-Za-z0-9-]{1,64}$/;

live.get("/live/view.js", (c) =>
  c.body(LIVE_VIEW_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=300", "x-content-type-options": "nosniff" }),
);

live.get("/live/:sessionId", async (c) => {
  const { sessionId, claims } = await verified(c);
  const { direct } = unwrap(await c.env.SESSIONS.getByName(sessionId).liveNode(claims.pid));
  const config = readConfig(c.env);
  const socket = liveSocketUrl(edgeOrigin(config.edgePublicUrl, c.req.url), sessionId, direct && { ...direct, scheme: config.connectScheme });
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'unsafe-inline'",
    `connect-src ${new URL(socket).origin}`,
    "base-uri 'none'",
    "form-action 'none'",
    // The one thing loosened, and only here: any site may embed the view (its token is its guard).
    "frame-ancestors *",
  ].join("; ");
  return c.html(liveViewHtml(socket), 200, {
    "content-security-policy": csp,
    "cache-control": "no-store",
    // The page's URL holds its token: it must not leave in a Referer.
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
  });
});

live.get("/live/:sessionId/socket", async (c) => {
  const { sessionId, claims } = await verified(c);
  requireUpgrade(c);
  const query = new URL(c.req.url).searchParams;
  const page = query.get("page");
  // Set (or removed) here whatever the client sent: the object trusts these headers.
  const headers = new Headers(c.req.raw.headers);
  headers.set(VERIFIED_CLIENT.project, claims.pid);
  headers.set(VERIFIED_CLIENT.expiresAt, String(claims.exp * 1000));
  headers.set(VERIFIED_CLIENT.readOnly, claims.ro === true || query.get("readOnly") === "true" ? "1" : "0");
  if (page && TARGET_ID.test(page)) headers.set(VERIFIED_CLIENT.page, page);
  else headers.delete(VERIFIED_CLIENT.page);
  return c.env.SESSIONS.getByName(sessionId).fetch(new Request(c.req.raw, { headers }));
});

/** The live token (`token` query) for the session in the path, or a 401 naming why not. */
async function verified(c: Context<AppEnv>) {
  const sessionId = c.req.param("sessionId") ?? "";
  if (!SESSION_ID.test(sessionId)) throw new ApiError(404, "Session not found");
  const check = await verifyLiveToken((await signingKey(c.env)).keySet, new URL(c.req.url).searchParams.get("token") ?? undefined, { sessionId });
  if (!check.ok) throw new ApiError(401, check.reason);
  return { sessionId, claims: check.claims };
}
