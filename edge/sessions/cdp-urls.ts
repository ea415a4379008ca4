/**
 * Where a session's CDP clients connect, and the URLs the edge hands out for it. In edge mode
 * everything lives under `<edge>/cdp/<session>`; in direct mode under the node's proxy
 * (`<node host>:<port>`). Every URL that opens a socket carries a CDP token in `signingKey`.
 *
 *   browser socket:  ws(s)://<base>?signingKey=<T>                     (connectUrl, wsUrl)
 *   a target socket: ws(s)://<base><path>?signingKey=<T>
 *   DevTools:        http(s)://<base>/devtools/inspector.html?ws(s)=<base minus scheme><path>%3FsigningKey%3D<T>
 * The DevTools frontend URL-decodes `ws`/`wss` and opens that, query included, so its page socket
 * arrives with its token.
 */
import { cdpPathPrefix, type ConnectMode } from "../node-protocol.ts";

export interface CdpEndpoint {
  /** `ws` or `wss`. */
  scheme: "ws" | "wss";
  /** `http(s)://host[:port][/cdp/<session>]`: the base of `/json/*` and `/devtools/*`. */
  http: string;
  /** The same without its scheme: what the frontend's `ws=`/`wss=` takes. */
  bare: string;
}

/** `host:port`, with IPv6 hosts bracketed. */
export const hostPort = (node: { host: string; port: number }) =>
  `${node.host.includes(":") ? `[${node.host}]` : node.host}:${node.port}`;

/** The endpoint through the edge: `origin` is the edge's public base URL (http or https). */
export function edgeEndpoint(origin: string, sessionId: string): CdpEndpoint {
  const url = new URL(origin);
  const scheme = url.protocol === "https:" ? "wss" : "ws";
  const bare = `${url.host}${url.pathname.replace(/\/+$/, "")}${cdpPathPrefix(sessionId)}`;
  return { scheme, http: `${url.protocol}//${bare}`, bare };
}

export function directEndpoint(node: { host: string; port: number }, scheme: "ws" | "wss"): CdpEndpoint {
  const bare = hostPort(node);
  return { scheme, http: `${scheme === "wss" ? "https" : "http"}://${bare}`, bare };
}

/** A session's endpoint, once its node is ready (undefined before, or in direct mode without an address). */
export function cdpEndpoint(
  r: { id: string; connectMode?: ConnectMode; edgeUrl?: string; node?: { host?: string; port?: number } },
  directScheme: "ws" | "wss",
): CdpEndpoint | undefined {
  if (r.connectMode === "edge") return r.edgeUrl ? edgeEndpoint(r.edgeUrl, r.id) : undefined;
  const { host, port } = r.node ?? {};
  return host && port ? directEndpoint({ host, port }, directScheme) : undefined;
}

const tokenQuery = (token: string) => `signingKey=${encodeURIComponent(token)}`;

/** A socket URL: `path` is "" (the browser) or a Chromium path such as `/devtools/page/<id>`. */
export const webSocketUrl = (e: CdpEndpoint, path: string, token: string) => `${e.scheme}://${e.bare}${path}?${tokenQuery(token)}`;

/** The DevTools frontend on the target at `path`, or the bare frontend without one. */
export function frontendUrl(e: CdpEndpoint, path: string | undefined, token: string): string {
  const base = `${e.http}/devtools/inspector.html`;
  if (path === undefined) return base;
  return `${base}?${e.scheme}=${e.bare}${path}%3F${tokenQuery(token).replace("=", "%3D")}`;
}

/** Points a target (or `/json/version`'s answer) from Chromium's own address to `e`, with the caller's `token`. */
export function rewriteTarget(target: unknown, e: CdpEndpoint, token: string): unknown {
  if (typeof target !== "object" || target === null || Array.isArray(target)) return target;
  const t = target as Record<string, unknown>;
  if (typeof t.webSocketDebuggerUrl !== "string" || !URL.canParse(t.webSocketDebuggerUrl)) return target;
  const path = new URL(t.webSocketDebuggerUrl).pathname;
  const rewritten: Record<string, unknown> = { ...t, webSocketDebuggerUrl: webSocketUrl(e, path, token) };
  if ("devtoolsFrontendUrl" in t) rewritten.devtoolsFrontendUrl = frontendUrl(e, path, token);
  return rewritten;
}
