/**
 * The live view's addresses (docs/live-view.md): its page is always on the edge; its socket is on
 * the edge in edge mode (relayed to a node channel) and on the node's proxy in direct mode.
 */
import { LIVE_CHANNEL_PATH, livePagePath, liveSocketPath } from "../node-protocol.ts";
import { hostPort } from "../sessions/connect-urls.ts";

/** `origin` is the edge's public base URL (a path prefix is kept). */
const edgeBase = (origin: string) => {
  const url = new URL(origin);
  return { url, prefix: url.pathname.replace(/\/+$/, "") };
};

/** `debuggerFullscreenUrl`: the page, with the live token and, per page, the target to watch first. */
export function liveViewUrl(origin: string, sessionId: string, token: string, page?: string): string {
  const { url, prefix } = edgeBase(origin);
  const query = new URLSearchParams({ token });
  if (page !== undefined) query.set("page", page);
  return `${url.protocol}//${url.host}${prefix}${livePagePath(sessionId)}?${query}`;
}

/** The socket the page opens (its token is added by the page): the edge's, or direct mode's node proxy. */
export function liveSocketUrl(origin: string, sessionId: string, direct: { host: string; port: number; scheme: "ws" | "wss" } | undefined): string {
  if (direct) return `${direct.scheme}://${hostPort(direct)}${LIVE_CHANNEL_PATH}`;
  const { url, prefix } = edgeBase(origin);
  return `${url.protocol === "https:" ? "wss" : "ws"}://${url.host}${prefix}${liveSocketPath(sessionId)}`;
}



