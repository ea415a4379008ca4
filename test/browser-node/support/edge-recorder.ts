/**
 * A small stand-in for the edge's node callbacks: it records every POST under
 * /internal/nodes/<session>/<kind>, checks the bearer token, and serves the JWKS.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Callback {
  kind: string;
  sessionId: string;
  authorization: string | undefined;
  body: any;
  at: number;
}

export class EdgeRecorder {
  readonly calls: Callback[] = [];
  /** What heartbeats answer; tests flip it to end a session from the "edge". */
  heartbeatReply = { end: false };
  /** Status for the next `ready` posts (a 503 makes the node retry). */
  readyStatuses: number[] = [];
  jwks: unknown = { keys: [] };
  jwksRequests = 0;
  /** Base URL, once started. */
  url = "";
  private server!: Server;
  private waiters: Array<() => void> = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      if (req.method === "GET" && req.url === "/.well-known/jwks.json") {
        this.jwksRequests++;
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(this.jwks));
      }
      const m = /^\/internal\/nodes\/([^/]+)\/(ready|heartbeat|exit)$/.exec(req.url ?? "");
      if (req.method !== "POST" || !m) {
        res.writeHead(404);
        return res.end();
      }
      let raw = "";
      req.on("data", (c) => (raw += c));
      req.on("end", () => {
        const status = m[2] === "ready" ? (this.readyStatuses.shift() ?? 200) : 200;
        this.calls.push({ kind: m[2], sessionId: m[1], authorization: req.headers.authorization, body: JSON.parse(raw), at: Date.now() });
        for (const wake of this.waiters.splice(0)) wake();
        res.writeHead(status, { "content-type": "application/json" });
        res.end(m[2] === "heartbeat" ? JSON.stringify(this.heartbeatReply) : "{}");
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  of(kind: string, sessionId?: string) {
    return this.calls.filter((c) => c.kind === kind && (!sessionId || c.sessionId === sessionId));
  }

  /** Waits until a `kind` callback (for `sessionId`) has arrived. */
  async waitFor(kind: string, sessionId?: string, timeoutMs = 30_000): Promise<Callback> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.of(kind, sessionId)[0];
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${kind} callback within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}
