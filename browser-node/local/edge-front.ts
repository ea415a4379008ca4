/**
 * The local edge's front door: clients (SDKs, browser nodes, the stand-in's task events) talk to
 * this Node server, which hands each request to workerd on a connection of its own.
 *
 * workerd's HTTP server drops a keep-alive connection after 5 s idle, and common clients keep
 * theirs about as long (Node's agent 5 s, undici 4 s on a coarse timer that a busy machine
 * delays): a request written onto a connection workerd is closing at that moment is lost
 * (ECONNRESET, "other side closed"), and a client cannot safely send a POST again. Here clients'
 * connections stay open far longer than any of them idles (Cloudflare keeps them 400 s), and
 * toward workerd no connection is ever reused, so no request is written onto a closing one.
 */
import { Agent, createServer, request, type IncomingHttpHeaders } from "node:http";
import { connect, type Socket } from "node:net";

/** Longer than any client keeps an idle connection (Node 5 s, undici 4 s, browsers ~60 s). */
export const FRONT_KEEP_ALIVE_MS = 65_000;

export interface EdgeFront {
  url: string;
  close(): Promise<void>;
}

// Hop-by-hop: about one connection, not the request; each side sets its own.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade", "te", "trailer"]);
const endToEnd = (headers: IncomingHttpHeaders) => Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));

export async function startEdgeFront(options: {
  host: string;
  port: number;
  /** Where requests and WebSocket upgrades go: the edge Worker's own socket in workerd. */
  upstream: URL;
}): Promise<EdgeFront> {
  const sockets = options.upstream;
  const fresh = new Agent({ keepAlive: false });
  const server = createServer({ keepAliveTimeout: FRONT_KEEP_ALIVE_MS, requestTimeout: 0 }, (req, res) => {
    const upstream = request(
      { host: options.upstream.hostname, port: options.upstream.port, method: req.method, path: req.url, headers: endToEnd(req.headers), agent: fresh },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
        answer.pipe(res);
        answer.on("error", (error) => res.destroy(error));
      },
    );
    upstream.on("error", (error) => {
      if (res.headersSent) return void res.destroy(error);
      res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ message: `The local edge (workerd) did not answer: ${error.message}` }));
    });
    req.pipe(upstream);
    // A client that leaves before its answer leaves workerd too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
  });
  // WebSockets (CDP clients; locally the nodes' links and channels dial past it): the upgrade
  // request goes to workerd as it came, on a connection of its own, and the two sockets are
  // spliced from then on.
  server.on("upgrade", (req, client: Socket, head: Buffer) => {
    const upstream = connect({ host: sockets.hostname, port: Number(sockets.port), noDelay: true });
    client.setNoDelay(true);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    upstream.on("connect", () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(lines.join("\r\n") + "\r\n\r\n");
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        fresh.destroy();
      }),
  };
}
