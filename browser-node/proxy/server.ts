/** The proxy's HTTP server: plain requests to http.ts, WebSocket upgrades to upgrade.ts. */
import { createServer, type Server } from "node:http";
import type { ProxyContext } from "./context.ts";
import { handleHttp } from "./http.ts";
import { handleUpgrade } from "./upgrade.ts";

export function createProxyServer(ctx: ProxyContext): Server {
  const server = createServer({ noDelay: true, keepAliveTimeout: 5000 }, (req, res) => void handleHttp(ctx, req, res));
  server.on("upgrade", (req, socket, head) => {
    handleUpgrade(ctx, req, socket as import("node:net").Socket, head).catch(() => socket.destroy());
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  return server;
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}
