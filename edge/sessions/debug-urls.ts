/**
 * The live-view answer of `GET /v1/sessions/{id}/debug`, built from the browser's own target list
 * (real CDP target ids, asked of the node over its link) and the session's CDP endpoint
 * (connect-urls.ts): through the edge, or to the node's proxy in direct mode.
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

export function liveUrls(endpoint: CdpEndpoint, token: string, targets: CdpTarget[]): LiveUrls {
  const inspector = (targetId?: string) => frontendUrl(endpoint, targetId === undefined ? undefined : `/devtools/page/${targetId}`, token);
  const pages = targets
    .filter((t) => t.type === "page")
    .map((t) => ({
      id: t.id,
      url: t.url ?? "",
      title: t.title ?? "",
      faviconUrl: t.faviconUrl ?? "",
      debuggerUrl: inspector(t.id),
      debuggerFullscreenUrl: inspector(t.id),
    }));
  return {
    debuggerUrl: inspector(pages[0]?.id),
    debuggerFullscreenUrl: inspector(pages[0]?.id),
    wsUrl: webSocketUrl(endpoint, "", token),
    pages,
  };
}
