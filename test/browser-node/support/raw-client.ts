/** A bare CDP WebSocket client that records how its socket was closed. */
import WebSocket from "ws";

export interface RawClient {
  socket: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  call(method: string, params?: object): Promise<any>;
}

export function connectRaw(port: number, token: string, path = "/"): Promise<RawClient> {
  return connectRawUrl(`ws://127.0.0.1:${port}${path}?signingKey=${token}`);
}

/** The same, to a whole URL (a node's channel through the fake edge: `ReadyNode.cdpUrl`). */
export async function connectRawUrl(url: string): Promise<RawClient> {
  const socket = new WebSocket(url);
  const closed = new Promise<{ code: number; reason: string }>((r) => socket.once("close", (code, reason) => r({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  let id = 0;
  return {
    socket,
    closed,
    call(method, params = {}) {
      const callId = ++id;
      socket.send(JSON.stringify({ id: callId, method, params }));
      return new Promise((resolve) => {
        const onMessage = (data: WebSocket.RawData) => {
          const message = JSON.parse(String(data));
          if (message.id !== callId) return;
          socket.off("message", onMessage);
          resolve(message.result);
        };
        socket.on("message", onMessage);
      });
    },
  };
}
