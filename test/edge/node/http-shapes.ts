/** An HTTP server answering in each of the shapes a node's answer may take, for the edge's raw-socket GET. */
import { createServer } from "node:http";
import { createServer as createTcpServer } from "node:net";

export const TITLE = "Grüße, 世界 — ünïcödé";

export async function startHttpShapes(): Promise<{ port: number; rawPort: number; close(): Promise<void> }> {
  const body = Buffer.from(JSON.stringify([{ id: "A1", type: "page", url: "about:blank", title: TITLE }]));
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/length")) return res.writeHead(200, { "content-length": body.length }).end(body);
    if (req.url?.startsWith("/chunked")) {
      // Cut inside a multi-byte character: chunk sizes count bytes.
      res.writeHead(200, { "transfer-encoding": "chunked" });
      res.write(body.subarray(0, 40));
      setTimeout(() => res.end(body.subarray(40)), 20);
      return;
    }
    res.writeHead(404, { "content-length": 0 }).end();
  });
  // HTTP/1.0 style: no length, the body ends when the connection does.
  const raw = createTcpServer((socket) => {
    socket.once("data", () => socket.end(Buffer.concat([Buffer.from("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n"), body])));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    rawPort: (raw.address() as { port: number }).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await new Promise((resolve) => raw.close(resolve));
    },
  };
}
