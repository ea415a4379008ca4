/**
 * The live-view answer of `GET /v1/sessions/{id}/debug`, built from the node's own target list
 * (real CDP target ids). Every URL goes through the node's proxy and carries a CDP token in the
 * `signingKey` query, which is how the proxy authenticates both plain requests and upgrades:
 *
 *   page DevTools: http(s)://<node>/devtools/inspector.html?ws(s)=<node>/devtools/page/<targetId>%3FsigningKey%3D<T>
 *   wsUrl:         ws(s)://<node>?signingKey=<T>   (the browser-level CDP endpoint)
 * The frontend's files are public; the page socket it opens carries the token (the same form the
 * node's proxy writes into its own /json/list answers). The target list comes from node-targets.ts;
 * this module only builds URLs, so it has no I/O.
 */
import { hostPort, type NodeAddress } from "./session-record.ts";

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

const httpScheme = (scheme: "ws" | "wss") => (scheme === "wss" ? "https" : "http");

export function liveUrls(node: NodeAddress, scheme: "ws" | "wss", token: string, targets: CdpTarget[]): LiveUrls {
  const address = hostPort(node);
  const query = `signingKey=${encodeURIComponent(token)}`;
  const inspector = (targetId?: string) => {
    const base = `${httpScheme(scheme)}://${address}/devtools/inspector.html`;
    if (!targetId) return base;
    return `${base}?${scheme}=${address}/devtools/page/${encodeURIComponent(targetId)}%3F${query.replace("=", "%3D")}`;
  };
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
    wsUrl: `${scheme}://${address}?${query}`,
    pages,
  };
}
