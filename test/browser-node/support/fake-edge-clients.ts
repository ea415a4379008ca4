/**
 * The fake edge's client side: a CDP client's upgrade is answered only once the node opened a
 * channel for it (`open` over the link, then the node's socket), then the two sockets are relayed
 * message for message, and each side's close (code and reason) is passed to the other, as the
 * session's Durable Object does.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import WebSocket, { type WebSocketServer } from "ws";
import type { FakeEdge } from "./fake-edge.ts";

const sendable = (code: number) => (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999);

function closeWith(ws: WebSocket, code: number, reason: Buffer) {
  if (ws.readyState !== WebSocket.OPEN) return;
  if (code === 1006) ws.terminate();
  else if (sendable(code)) ws.close(code, reason);
  else ws.close();
}

export async function acceptClient(
  edge: FakeEdge,
  wss: WebSocketServer,
  o: { req: IncomingMessage; socket: Socket; head: Buffer; sessionId: string; path: string; expiresAt: number },
) {
  const { reply, channel } = await edge.openChannel(o.sessionId, o.path, o.expiresAt);
  if (!channel) {
    o.socket.end(`HTTP/1.1 ${reply.status} Refused\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reply.message)}\r\n\r\n${reply.message}`);
    return;
  }
  if (o.socket.destroyed) return channel.close(1000);
  const early: Array<[WebSocket.RawData, boolean]> = [];
  const hold = (data: WebSocket.RawData, binary: boolean) => early.push([data, binary]);
  channel.on("message", hold);
  wss.handleUpgrade(o.req, o.socket, o.head, (client) => {
    channel.off("message", hold);
    for (const [data, binary] of early) client.send(data, { binary });
    client.on("message", (data, binary) => channel.readyState === WebSocket.OPEN && channel.send(data, { binary }));
    channel.on("message", (data, binary) => client.readyState === WebSocket.OPEN && client.send(data, { binary }));
    client.on("close", (code, reason) => closeWith(channel, code, reason));
    channel.on("close", (code, reason) => closeWith(client, code, reason));
    if (channel.readyState !== WebSocket.OPEN) client.terminate();
  });
}
