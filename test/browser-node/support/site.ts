/** A page the tests serve on loopback, for the browser to load through the proxy's session. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Site {
  url: string;
  port: number;
  /** Every path asked for, in order: proof of what reached the server, and what did not. */
  requests: string[];
  close: () => Promise<void>;
}

/** `host` may be any 127.0.0.0/8 address (Linux routes the whole block to loopback). */
export async function serveSite(host = "127.0.0.1"): Promise<Site> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? "");
    // /strict-csp…: no eval, and Trusted Types required, as strict sites have it.
    const strict = req.url?.startsWith("/strict-csp")
      ? { "content-security-policy": "default-src 'self'; script-src 'self'; require-trusted-types-for 'script'; trusted-types 'none'" }
      : {};
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...strict });
    res.end(`<!doctype html><title>wallcrawler test</title><h1 id="greeting">hello from ${req.url}</h1>`);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    port,
    requests,
    close: () => {
      server.closeAllConnections(); // Chromium keeps connections alive; close() alone would wait on them
      return new Promise((r) => server.close(() => r()));
    },
  };
}
