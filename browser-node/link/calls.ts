/**
 * What the edge asks of the node over the link (`call`s, NodeCall in edge/node-protocol.ts), each
 * checked by hand and answered with a value or a NodeError whose status the reply carries: 400 for
 * a call the node cannot read, 404 for what does not exist, 503 while the session starts or ends,
 * 502 when Chromium or the edge failed it.
 */
import { CloseCode, nodeChannelPath, type FrontendFile, type NodeUploadReply } from "../../edge/node-protocol.ts";
import type { RelayTap } from "../artifacts/session-log.ts";
import { getFromChromium, readBody } from "../chromium/debug-http.ts";
import { NodeError } from "../node-error.ts";
import type { ProxyContext, Upstream } from "../proxy/context.ts";
import { FRONTEND_FILE } from "../proxy/http.ts";
import { upstreamPath } from "../proxy/upgrade.ts";
import { isLivePath, openLiveChannel } from "../live/live-socket.ts";
import type { ScreencastHub } from "../live/screencast-hub.ts";
import { Channel } from "./channel.ts";
import { wsUrl } from "./edge-link.ts";

/** The session as the calls see it: what the proxy sees of it too (the same Chromium, clients and endings), and the edge. */
export interface CallContext extends Pick<ProxyContext, "browser" | "accepting" | "upstreamLost" | "clients"> {
  sessionId: string;
  /** Where the node's WebSockets dial (BootConfig.edgeSocketUrl). */
  edgeSocketUrl: URL;
  nodeToken(): Promise<string>;
  /** The live view's screencast hub (an `open` of LIVE_CHANNEL_PATH); absent: such opens are 404. */
  live?: ScreencastHub;
  artifacts: {
    upload(name: string): Promise<NodeUploadReply>;
    flushDownloads(): Promise<void>;
    tap(path: string): RelayTap | undefined;
  };
}

const JSON_PATHS = new Set(["/json/version", "/json/list", "/json/protocol"]);
const CHANNEL_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** /json/protocol is about 1 MB; the frontend's largest file a few MB. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

const bad = (message: string) => new NodeError("error", message, { status: 400 });
const unavailable = (message: string) => new NodeError("error", message, { status: 503 });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export async function handleCall(ctx: CallContext, call: unknown): Promise<unknown> {
  if (!isObject(call) || typeof call.op !== "string") throw bad("a call needs an op");
  switch (call.op) {
    case "json":
      if (typeof call.path !== "string" || !JSON_PATHS.has(call.path)) throw bad(`json: path must be one of ${[...JSON_PATHS].join(", ")}`);
      return chromiumJson(running(ctx), call.path);
    case "frontend":
      if (typeof call.path !== "string") throw bad("frontend: path must be a string");
      return frontendFile(running(ctx), call.path);
    case "open":
      return openChannel(ctx, call);
    case "upload":
      if (typeof call.name !== "string" || call.name === "") throw bad("upload: name must be a non-empty string");
      if (!ctx.accepting()) throw unavailable("the session is ending");
      return ctx.artifacts.upload(call.name);
    case "flush-downloads":
      try {
        await ctx.artifacts.flushDownloads();
        return null;
      } catch (err) {
        throw new NodeError("error", `downloads not flushed: ${err instanceof Error ? err.message : String(err)}`, { status: 502 });
      }
    default:
      throw bad(`unknown op ${JSON.stringify(call.op.slice(0, 40))}`);
  }
}

function running(ctx: CallContext): Upstream {
  const browser = ctx.browser();
  if (!browser) throw unavailable("the browser is not running");
  return browser;
}

async function chromiumJson(browser: Upstream, path: string): Promise<unknown> {
  const res = await getFromChromium(browser.debugPort, path).catch(() => {
    throw new NodeError("error", "the browser did not answer", { status: 502 });
  });
  const body = await readBody(res, MAX_ANSWER_BYTES);
  if (res.statusCode !== 200) throw new NodeError("error", `the browser answered ${path} with ${res.statusCode}`, { status: 502 });
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new NodeError("error", `the browser's ${path} is not JSON`, { status: 502 });
  }
}

async function frontendFile(browser: Upstream, path: string): Promise<FrontendFile> {
  let url: URL;
  try {
    url = new URL(path, "http://frontend.invalid");
  } catch {
    throw bad("frontend: not a path");
  }
  if (!path.startsWith("/devtools/") || !FRONTEND_FILE.test(url.pathname) || url.pathname.includes("..")) {
    throw bad("frontend: not a DevTools frontend file");
  }
  const res = await getFromChromium(browser.debugPort, url.pathname + url.search).catch(() => {
    throw new NodeError("error", "the browser did not answer", { status: 502 });
  });
  const body = await readBody(res, MAX_ANSWER_BYTES);
  const contentType = res.headers["content-type"];
  return { status: res.statusCode ?? 502, ...(contentType ? { contentType } : {}), body: body.toString("base64") };
}

async function openChannel(ctx: CallContext, call: Record<string, unknown>): Promise<null> {
  const { channel, path, expiresAt } = call;
  if (typeof channel !== "string" || !CHANNEL_ID.test(channel)) throw bad("open: channel must be 1-128 letters, digits, '-' or '_'");
  if (typeof path !== "string") throw bad("open: path must be a string");
  if (typeof expiresAt !== "number" || !Number.isFinite(expiresAt)) throw bad("open: expiresAt must be epoch milliseconds");
  if (!ctx.accepting()) throw unavailable("the session is ending");
  const browser = running(ctx);
  if (isLivePath(path)) return openLiveChannel(ctx, { channel, expiresAt, readOnly: call.readOnly, page: call.page });
  const chromiumPath = upstreamPath(path, browser.browserPath);
  if (!chromiumPath) throw new NodeError("error", "no such endpoint", { status: 404 });
  const label = path === "/" ? "/" : path.split("/").slice(0, 3).join("/");
  const tap = ctx.artifacts.tap(path);
  const opened = await Channel.open({
    debugPort: browser.debugPort,
    chromiumPath,
    edgeUrl: wsUrl(ctx.edgeSocketUrl, nodeChannelPath(ctx.sessionId, channel)),
    nodeToken: await ctx.nodeToken(),
    onUpstreamLost: () => ctx.upstreamLost(),
    tap,
  }).catch((err: unknown) => {
    tap?.end();
    throw err;
  });
  if (!ctx.accepting()) {
    // The session began ending while the channel opened: it sees the ending like the others did.
    void opened.close(CloseCode.released);
    throw unavailable("the session is ending");
  }
  ctx.clients.add(opened, expiresAt, { path: label });
  return null;
}
