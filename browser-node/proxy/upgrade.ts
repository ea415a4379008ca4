/**
 * WebSocket upgrades: check the token before anything else, route the path to Chromium's
 * browser or page endpoint, do Chromium's handshake on the client's behalf (its own key, so
 * Chromium's accept header is valid for the client), then splice the two sockets.
 *
 * Toward Chromium the node offers no extension (permessage-deflate would cost ~3× per message),
 * sends no Origin (Chromium refuses Origin-bearing upgrades from anyone but trusted tools; the
 * token has been checked already) and the Host Chromium insists on.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { ProxyContext } from "./context.ts";
import { authenticate } from "./authenticate.ts";
import { Relay } from "./relay.ts";
import { acceptLiveUpgrade, isLivePath } from "../live/live-socket.ts";
import { openUpstream, UpstreamRefused, type UpstreamConnection } from "./upstream.ts";

const PAGE_PATH = /^\/devtools\/page\/([A-Za-z0-9-]{1,64})$/;
/** A Sec-WebSocket-Key is 16 random bytes in base64; it is written into our request to Chromium. */
const WS_KEY = /^[A-Za-z0-9+/]{22}==$/;
const BROWSER_PATH = /^\/(devtools\/browser(\/[A-Za-z0-9-]{1,64})?)?$/;

function refuse(socket: Socket, status: number, text: string, reason: string) {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.destroySoon?.();
}

/** The Chromium path for a client path: `/` and `/devtools/browser[/<id>]` mean the browser. */
export function upstreamPath(pathname: string, browserPath: string): string | undefined {
  if (BROWSER_PATH.test(pathname)) return browserPath;
  const page = PAGE_PATH.exec(pathname);
  return page ? `/devtools/page/${page[1]}` : undefined;
}

export async function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Socket, head: Buffer) {
  socket.on("error", () => {});
  const url = new URL(req.url ?? "/", "http://proxy.invalid");
  if (isLivePath(url.pathname) && ctx.live) return liveUpgrade(ctx, ctx.live, req, socket, head, url);
  const auth = await authenticate(ctx, req, url);
  if (!auth.ok) return refuse(socket, 401, "Unauthorized", auth.reason);
  const browser = ctx.browser();
  if (!browser || !ctx.accepting()) return refuse(socket, 503, "Service Unavailable", "session is ending");
  const path = upstreamPath(url.pathname, browser.browserPath);
  if (!path) return refuse(socket, 404, "Not Found", "no such endpoint");
  const key = req.headers["sec-websocket-key"];
  if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket" || !WS_KEY.test(key ?? "") || req.headers["sec-websocket-version"] !== "13") {
    return refuse(socket, 400, "Bad Request", "not a WebSocket version 13 upgrade");
  }

  let connection: UpstreamConnection;
  try {
    connection = await openUpstream(browser.debugPort, path, key!);
  } catch (err) {
    if (err instanceof UpstreamRefused && err.status === 404) return refuse(socket, 404, "Not Found", "no such target");
    return refuse(socket, 502, "Bad Gateway", "browser unreachable");
  }
  if (socket.destroyed || !ctx.accepting()) {
    connection.socket.destroy();
    return socket.destroy();
  }
  // Chromium's answer goes to the client as it is (its accept header was computed from the
  // client's own key), less any extension line, which it never has since none was offered.
  const answer = connection.responseHead
    .split("\r\n")
    .filter((line) => !/^sec-websocket-extensions:/i.test(line))
    .join("\r\n");
  socket.write(answer + "\r\n\r\n");
  // The node's readiness probe (no expiry) is not part of the session's log.
  const tap = auth.expiresAt === undefined ? undefined : ctx.artifacts.tap(url.pathname);
  const relay = new Relay(socket, connection, () => ctx.upstreamLost(), tap);
  relay.start(head, connection.early);
  ctx.clients.add(relay, auth.expiresAt, { path: url.pathname === "/" ? "/" : url.pathname.split("/").slice(0, 3).join("/") });
}

/** A live viewer (`/live?token=<live token>`): the live token's audience only, never a CDP token. */
async function liveUpgrade(ctx: ProxyContext, live: NonNullable<ProxyContext["live"]>, req: IncomingMessage, socket: Socket, head: Buffer, url: URL) {
  const check = await ctx.verifier.verifyLive(url.searchParams.get("token") ?? undefined);
  if (!check.ok) return refuse(socket, 401, "Unauthorized", check.reason);
  if (!ctx.browser() || !ctx.accepting()) return refuse(socket, 503, "Service Unavailable", "session is ending");
  const readOnly = check.claims.ro === true || url.searchParams.get("readOnly") === "true";
  acceptLiveUpgrade({ clients: ctx.clients, live }, req, socket, head, { expiresAt: check.claims.exp * 1000, readOnly, page: url.searchParams.get("page") });
}
