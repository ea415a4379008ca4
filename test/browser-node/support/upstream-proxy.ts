/**
 * An upstream proxy as a session's `proxies` name it, on 127.0.0.1: it requires Basic
 * credentials (407 otherwise), records what it was asked, and carries requests on to loopback
 * only. Every target goes to `to(host, port)`'s local port; it never resolves a name.
 */
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";

export interface SeenRequest {
  method: string;
  /** `host:port` of a CONNECT, the absolute URL of a plain request. */
  target: string;
  /** Whether it carried the right credentials. */
  authorized: boolean;
  proxyAuthorization?: string;
}

export interface UpstreamProxy {
  url: string;
  port: number;
  seen: SeenRequest[];
  /** Bytes that crossed the proxy's client side, both ways. */
  bytes(): number;
  close(): Promise<void>;
}

export async function startUpstreamProxy(options: {
  username: string;
  password: string;
  /** The loopback port a target goes to; default: its own port on 127.0.0.1. */
  to?: (host: string, port: number) => number;
}): Promise<UpstreamProxy> {
  const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`;
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let closedBytes = 0;
  const to = options.to ?? ((_host, port) => port);
  const check = (req: IncomingMessage, target: string) => {
    const auth = req.headers["proxy-authorization"];
    const entry: SeenRequest = { method: req.method ?? "", target, authorized: auth === expected };
    if (auth !== undefined) entry.proxyAuthorization = auth;
    seen.push(entry);
    return entry.authorized;
  };

  const server: Server = createServer((req, res) => {
    if (!check(req, req.url ?? "")) return res.writeHead(407, { "proxy-authenticate": 'Basic realm="test"' }).end();
    const target = new URL(req.url ?? "");
    const headers = { ...req.headers };
    delete headers["proxy-authorization"];
    delete headers["proxy-connection"];
    const onward = request(
      { host: "127.0.0.1", port: to(target.hostname, Number(target.port || 80)), method: req.method, path: `${target.pathname}${target.search}`, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    onward.on("error", () => res.destroy());
    req.pipe(onward);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      closedBytes += socket.bytesRead + socket.bytesWritten;
    });
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    client.on("error", () => {});
    if (!check(req, req.url ?? "")) return client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n');
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(req.url ?? "");
    if (!m) return client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
    const onward = connect(to(m[1], Number(m[2])), "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) onward.write(head);
      onward.pipe(client);
      client.pipe(onward);
    });
    onward.on("error", () => client.destroy());
    client.on("close", () => onward.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    bytes: () => [...sockets].reduce((sum, s) => sum + s.bytesRead + s.bytesWritten, closedBytes),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
