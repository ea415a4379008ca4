/**
 * How a live viewer's socket reaches the session's screencast hub: through the edge, as a channel
 * the node dials when the link's `open` names LIVE_CHANNEL_PATH (edge mode); or straight to the
 * node's proxy at LIVE_CHANNEL_PATH with a live token (direct mode). Either way the viewer is a
 * watcher for the session (closed at its end and when its token expires, counted for nothing).
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { CloseCode, LIVE_CHANNEL_PATH, nodeChannelPath } from "../../edge/node-protocol.ts";
import { NodeError } from "../node-error.ts";
import type { ClientRegistry } from "../proxy/clients.ts";
import { wsUrl } from "../link/edge-link.ts";
import type { ScreencastHub } from "./screencast-hub.ts";

/** A viewer says little (input, acks); a frame it sends is never more than this. */
const MAX_VIEWER_MESSAGE = 64 * 1024;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const TARGET_ID = /^[A-Za-z0-9-]{1,64}$/;

export const isLivePath = (path: string) => path === LIVE_CHANNEL_PATH;

/** Edge mode: the `open` call for a viewer. Dials the edge's channel and hands it to the hub. */
export async function openLiveChannel(
  ctx: { sessionId: string; edgeSocketUrl: URL; nodeToken(): Promise<string>; accepting(): boolean; clients: ClientRegistry; live?: ScreencastHub },
  call: { channel: string; expiresAt: number; readOnly?: unknown; page?: unknown },
): Promise<null> {
  if (!ctx.live) throw new NodeError("error", "no live view on this node", { status: 404 });
  const ws = new WebSocket(wsUrl(ctx.edgeSocketUrl, nodeChannelPath(ctx.sessionId, call.channel)), {
    headers: { authorization: `Bearer ${await ctx.nodeToken()}` },
    perMessageDeflate: false,
    maxPayload: MAX_VIEWER_MESSAGE,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  });
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    const refused = (status?: number) => reject(new NodeError("error", `the edge refused the channel${status ? ` (HTTP ${status})` : ""}`, { status: 502 }));
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      refused(res.statusCode);
      ws.terminate();
    });
    ws.once("close", () => refused());
  });
  if (!ctx.accepting()) {
    ws.close(CloseCode.released.code, CloseCode.released.reason);
    throw new NodeError("error", "the session is ending", { status: 503 });
  }
  attach(ctx.live, ctx.clients, ws, call.expiresAt, call.readOnly === true, call.page);
  return null;
}

const server = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_VIEWER_MESSAGE });

/** Direct mode: a viewer's upgrade at the node's proxy, its live token checked already. */
export function acceptLiveUpgrade(
  ctx: { clients: ClientRegistry; live: ScreencastHub },
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  viewer: { expiresAt: number; readOnly: boolean; page: string | null },
) {
  server.handleUpgrade(req, socket, head, (ws) => attach(ctx.live, ctx.clients, ws, viewer.expiresAt, viewer.readOnly, viewer.page ?? undefined));
}

function attach(hub: ScreencastHub, clients: ClientRegistry, ws: WebSocket, expiresAt: number, readOnly: boolean, page: unknown) {
  const viewer = hub.add(ws, { readOnly, page: typeof page === "string" && TARGET_ID.test(page) ? page : undefined });
  clients.add(viewer, expiresAt, { path: LIVE_CHANNEL_PATH, watcher: true });
}
