/** A page the tests serve on 127.0.0.1, for the browser to load through the proxy's session. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export async function serveSite(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><title>wallcrawler test</title><h1 id="greeting">hello from ${req.url}</h1>`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => {
      server.closeAllConnections(); // Chromium keeps connections alive; close() alone would wait on them
      return new Promise((r) => server.close(() => r()));
    },
  };
}
