/**
 * Plain HTTP on the proxy port.
 *
 * - `GET /health`: no token; 200 while the browser runs and the session is live, else 503.
 * - `/json/version`, `/json/list`, `/json` (trailing slash or not), `/json/protocol`: token
 *   required; Chromium's answer with every URL rewritten to point back through this proxy and
 *   carry the caller's token.
 * - `GET /devtools/...`: Chromium's own DevTools frontend (public static files; subresources
 *   cannot carry a token, and everything they connect to does need one).
 *
 * URL forms: node-protocol.ts's cdpSocketUrl and devtoolsFrontendUrl, which the edge builds its
 * own with too. The frontend opens its `ws` value, query included, so the page socket arrives here
 * with its token (checked by test/browser-node/devtools-frontend.test.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { getFromChromium } from "../chromium/debug-http.ts";
import type { ProxyContext } from "./context.ts";
import { authenticate } from "./authenticate.ts";
import { cdpSocketUrl, devtoolsFrontendUrl } from "../../edge/node-protocol.ts";

const JSON_PATHS = new Set(["/json", "/json/list", "/json/version", "/json/protocol"]);
/** Frontend files only: the sockets under /devtools/page|browser are upgrades, never files. */
export const FRONTEND_FILE = /^\/devtools\/(?!page\/|browser\/)[A-Za-z0-9_\-./]+$/;
const HOST_HEADER = /^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

function reply(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8") {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
  res.end(body);
}

/** The host:port the caller used to reach us, so rewritten URLs work from where it stands. */
function publicHost(ctx: ProxyContext, req: IncomingMessage): string {
  const host = req.headers.host;
  return host && HOST_HEADER.test(host) ? host : ctx.fallbackHost();
}

export function debuggerUrls(host: string, token: string | undefined, targetPath: string) {
  const signingKey = token || undefined; // an empty token is none
  return {
    webSocketDebuggerUrl: cdpSocketUrl("ws", host, targetPath, signingKey),
    devtoolsFrontendUrl: devtoolsFrontendUrl("ws", host, targetPath, signingKey),
  };
}

interface Target {
  id?: string;
  webSocketDebuggerUrl?: string;
  devtoolsFrontendUrl?: string;
  [key: string]: unknown;
}

/** Points a target (or /json/version's answer) back through the proxy. */
export function rewriteTarget(target: Target, host: string, token: string | undefined): Target {
  if (typeof target.webSocketDebuggerUrl !== "string") return target;
  const path = new URL(target.webSocketDebuggerUrl).pathname;
  const urls = debuggerUrls(host, token, path);
  const rewritten: Target = { ...target, webSocketDebuggerUrl: urls.webSocketDebuggerUrl };
  if ("devtoolsFrontendUrl" in target) rewritten.devtoolsFrontendUrl = urls.devtoolsFrontendUrl;
  return rewritten;
}

function fetchUpstream(ctx: ProxyContext, path: string, method: string): Promise<IncomingMessage> {
  const browser = ctx.browser();
  if (!browser) return Promise.reject(new Error("browser not running"));
  return getFromChromium(browser.debugPort, path, method);
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function serveJson(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, url: URL, pathname: string) {
  const auth = await authenticate(ctx, req, url);
  if (!auth.ok) return reply(res, 401, `${auth.reason}\n`);
  const upstream = await fetchUpstream(ctx, pathname === "/json" ? "/json/list" : pathname, "GET");
  const body = await readBody(upstream);
  if (upstream.statusCode !== 200 || pathname === "/json/protocol") {
    return reply(res, upstream.statusCode ?? 502, body, upstream.headers["content-type"] ?? "application/json");
  }
  const host = publicHost(ctx, req);
  const parsed = JSON.parse(body) as Target | Target[];
  const rewritten = Array.isArray(parsed) ? parsed.map((t) => rewriteTarget(t, host, auth.token)) : rewriteTarget(parsed, host, auth.token);
  reply(res, 200, JSON.stringify(rewritten, null, 2), "application/json; charset=utf-8");
}

async function serveFrontend(ctx: ProxyContext, res: ServerResponse, path: string) {
  const upstream = await fetchUpstream(ctx, path, "GET");
  const headers: Record<string, string> = {};
  for (const name of ["content-type", "content-length"]) {
    const value = upstream.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  res.writeHead(upstream.statusCode ?? 502, headers);
  upstream.pipe(res);
}

export async function handleHttp(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? "/", "http://proxy.invalid");
  const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/$/, "") : url.pathname;
  try {
    if (pathname === "/health" && req.method === "GET") {
      const live = ctx.browser() !== undefined && ctx.accepting();
      return reply(res, live ? 200 : 503, JSON.stringify({ status: live ? "ok" : "ending" }), "application/json");
    }
    if (JSON_PATHS.has(pathname) && (req.method === "GET" || req.method === "HEAD")) {
      return await serveJson(ctx, req, res, url, pathname);
    }
    if (req.method === "GET" && FRONTEND_FILE.test(url.pathname) && !url.pathname.includes("..")) {
      return await serveFrontend(ctx, res, url.pathname + url.search);
    }
    reply(res, 404, "not found\n");
  } catch {
    if (!res.headersSent) reply(res, 502, "browser unavailable\n");
    else res.destroy();
  }
}
