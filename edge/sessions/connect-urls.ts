/**
 * Where a session's CDP clients connect (its connectUrl), and the other URLs the edge hands out
 * for it. In edge mode everything lives under `<edge>/cdp/<session>`; in direct mode under the
 * node's proxy (`<node host>:<port>`). The URL forms themselves are node-protocol.ts's
 * (cdpSocketUrl, devtoolsFrontendUrl), shared with the node's proxy.
 */
import { cdpPathPrefix, cdpSocketUrl, devtoolsFrontendUrl, type ConnectMode } from "../node-protocol.ts";

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

/** A socket URL: `path` is "" (the browser: connectUrl) or a Chromium path such as `/devtools/page/<id>`. */
export const webSocketUrl = (e: CdpEndpoint, path: string, token: string) => cdpSocketUrl(e.scheme, e.bare, path, token);

/** The DevTools frontend on the target at `path`, or the bare frontend without one. */
export function frontendUrl(e: CdpEndpoint, path: string | undefined, token: string): string {
  if (path === undefined) return `${e.http}/devtools/inspector.html`;
  return devtoolsFrontendUrl(e.scheme, e.bare, path, token);
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
