/**
 * The answer of `GET /v1/sessions/{id}/debug`, built from the browser's own target list (real CDP
 * target ids, asked of the node over its link): `debuggerUrl` the DevTools frontend on the
 * session's CDP endpoint (connect-urls.ts: through the edge, or the node's proxy in direct mode),
 * `debuggerFullscreenUrl` the live view (live/live-urls.ts: a screencast page with its own token).
 */
import { frontendUrl, webSocketUrl, type CdpEndpoint } from "./connect-urls.ts";

export interface CdpTarget {
  id: string;
  type: string;
  url: string;
  title: string;
  faviconUrl?: string;
}

export interface LiveUrls {
  debuggerFullscreenUrl: string;
  debuggerUrl: string;
  wsUrl: string;
  pages: { id: string; url: string; title: string; faviconUrl: string; debuggerUrl: string; debuggerFullscreenUrl: string }[];
}

/** The entries of a `/json/list` answer that look like targets; anything else is left out. */
export function targetsOf(list: unknown): CdpTarget[] {
  if (!Array.isArray(list)) return [];
  return list.filter((t): t is CdpTarget => typeof t === "object" && t !== null && typeof t.id === "string" && typeof t.type === "string");
}

/** `liveView(page)`: the live view URL watching `page` first (undefined: the newest page). */
export function liveUrls(endpoint: CdpEndpoint, token: string, targets: CdpTarget[], liveView: (page?: string) => string): LiveUrls {
  const inspector = (targetId?: string) => frontendUrl(endpoint, targetId === undefined ? undefined : `/devtools/page/${targetId}`, token);
  const pages = targets
    .filter((t) => t.type === "page")
    .map((t) => ({
      id: t.id,
      url: t.url ?? "",
      title: t.title ?? "",
      faviconUrl: t.faviconUrl ?? "",
      debuggerUrl: inspector(t.id),
      debuggerFullscreenUrl: liveView(t.id),
    }));
  return {
    debuggerUrl: inspector(pages[0]?.id),
    debuggerFullscreenUrl: liveView(),
    wsUrl: webSocketUrl(endpoint, "", token),
    pages,
  };
}
