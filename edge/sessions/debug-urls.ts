/**
 * The live-view answer of `GET /v1/sessions/{id}/debug`, built from the node's own target list
 * (real CDP target ids). Every URL goes through the node's proxy and carries a CDP token in the
 * `signingKey` query, which is how the proxy authenticates both plain requests and upgrades:
 *
 *   page DevTools: http(s)://<node>/devtools/inspector.html?ws(s)=<node>/devtools/page/<targetId>%3FsigningKey%3D<T>
 *   wsUrl:         ws(s)://<node>?signingKey=<T>   (the browser-level CDP endpoint)
 * The frontend's files are public; the page socket it opens carries the token (the same form the
 * node's proxy writes into its own /json/list answers).
 */
import { ApiError } from "../errors.ts";
import { hostPort, type NodeAddress } from "./session-record.ts";
import { answerJson, getFromNode, type NodeAnswer } from "./node-http.ts";

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

/** Reads the node's targets through its proxy (`/json/list`, token in the query). */
export async function fetchTargets(node: NodeAddress, scheme: "ws" | "wss", token: string): Promise<CdpTarget[]> {
  let answer: NodeAnswer;
  try {
    answer = await getFromNode(node, `/json/list?signingKey=${encodeURIComponent(token)}`, { tls: scheme === "wss", timeoutMs: 5_000 });
  } catch {
    throw new ApiError(502, "The session's browser node did not answer", { retry: true });
  }
  if (answer.status !== 200) throw new ApiError(502, `The session's browser node answered ${answer.status} to its target list`, { retry: true });
  const targets = answerJson(answer);
  if (!Array.isArray(targets)) throw new ApiError(502, "The session's browser node sent no target list", { retry: true });
  return targets as CdpTarget[];
}

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
