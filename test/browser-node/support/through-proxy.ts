/** Requests through a forward proxy as Chromium sends them: CONNECT, and plain requests in absolute form. */
import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";

/** The proxy's answer to CONNECT (undefined: it closed without one), and the tunnel when it is open. */
export function connectThrough(proxyPort: number, authority: string): Promise<{ status?: number; tunnel?: Socket }> {
  return new Promise((resolve) => {
    const socket = connect(proxyPort, "127.0.0.1", () => socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
    let head = "";
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      if (status === 200) resolve({ status, tunnel: socket });
      else {
        socket.destroy();
        resolve({ status });
      }
    };
    socket.on("data", onData);
    socket.on("error", () => resolve({}));
    socket.on("close", () => resolve({}));
  });
}

/** A plain GET of `url` through the proxy; `dropped` when it closed the connection without an answer. */
export function getThrough(proxyPort: number, url: string, agent?: Agent): Promise<{ status?: number; body?: string; dropped?: boolean }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port: proxyPort, path: url, agent, headers: { host: new URL(url).host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", () => resolve({ dropped: true }));
    req.end();
  });
}

/** A GET of `path` through an open tunnel to an HTTP server, with `Connection: close`: the whole answer. */
export function getInTunnel(tunnel: Socket, host: string, path: string): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    tunnel.on("data", (chunk: Buffer) => (got += chunk.toString("latin1")));
    tunnel.on("close", () => resolve(got));
    tunnel.resume();
    tunnel.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}
