/**
 * A small stand-in for the edge, speaking the pool link (docs/pool.md) and the node link
 * (docs/node-link.md) as the real one does: it takes pool links with a valid bootstrap token for
 * the member and pool (401 otherwise), records `warm`, sends a member the `assign` offered for it
 * (on `warm`, or as soon as a reserved member's link opens), and takes session links with a valid link token (real ES256 JWTs, verified), sends `welcome` with a node
 * token, records what nodes send, sends calls and `end`, takes channels with a valid node token,
 * serves the artifact routes and staged uploads (node token checked), and lets CDP clients in at
 * `/cdp/<session>[/devtools/...]?signingKey=<JWT>` through a channel (fake-edge-clients.ts).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { WebSocketServer, type WebSocket } from "ws";
import {
  CDP_TOKEN_AUDIENCE,
  LINK_TOKEN_AUDIENCE,
  NODE_TOKEN_AUDIENCE,
  POOL_LINK_TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  type Assignment,
  type NodeCall,
} from "../../../edge/node-protocol.ts";
import { acceptClient } from "./fake-edge-clients.ts";
import { makeSigningKey, signBootstrapToken, signNodeSideToken, type SigningKey } from "./keys.ts";

export const TEST_POOL = "test-pool";

/** When the fake edge sends a member its offered assignment: on `warm`, or as soon as its link opens (a reserved member). */
export type AssignWhen = "on-warm" | "on-open";

export interface LinkMessage {
  sessionId: string;
  message: any;
  at: number;
}
export interface ArtifactRequest {
  sessionId: string;
  method: string;
  kind: string;
  body: Buffer;
}
export interface StagedUpload {
  body: Buffer;
  /** Send the headers and half the body, then cut the connection. */
  cut?: boolean;
}

const LINK = /^\/internal\/nodes\/([^/]+)\/link$/;
const POOL_LINK = /^\/internal\/pools\/([^/]+)\/members\/([^/]+)\/link$/;
const CHANNEL = /^\/internal\/nodes\/([^/]+)\/cdp\/([^/]+)$/;
const ARTIFACT = /^\/internal\/nodes\/([^/]+)\/(extension|context|downloads|logs|recording|usage|uploads\/[^/]+)$/;
const CLIENT = /^\/cdp\/([^/]+)(\/.*)?$/;

export class FakeEdge {
  url = "";
  /** Every message nodes sent on their links, in order. */
  readonly received: LinkMessage[] = [];
  /** Every link upgrade: its session and the status it got (101 when taken). */
  readonly linkAttempts: Array<{ sessionId: string; status: number }> = [];
  /** Every artifact request that passed the token check. */
  readonly requests: ArtifactRequest[] = [];
  /** Link upgrades of these sessions are answered only after this many ms (a slow dial). */
  readonly delayLinks = new Map<string, number>();
  /** Link upgrades of these sessions are refused with this status. */
  readonly refuseLinks = new Map<string, number>();
  /** Uploads staged for nodes, by `<session>/<name>`. */
  readonly staged = new Map<string, StagedUpload>();
  /** What `GET extension|context` serves, by `<session>/<kind>` (404 otherwise). */
  readonly blobs = new Map<string, Buffer>();
  /** Sessions over at the edge: their links are taken and closed with 4010 at once, without a welcome (as the edge does). */
  readonly over = new Set<string>();
  /** How links closed: code and reason, by session. */
  readonly linkCloses: Array<{ sessionId: string; code: number; reason: string }> = [];
  jwksRequests = 0;
  /** Pool link upgrades: the member and the status it got (101 when taken). */
  readonly poolLinkAttempts: Array<{ memberId: string; status: number }> = [];
  /** What members sent on their pool links. */
  readonly poolReceived: Array<{ memberId: string; message: any; at: number }> = [];
  /** How pool links closed (by either side). */
  readonly poolCloses: Array<{ memberId: string; code: number; reason: string; at: number }> = [];
  /** Everything in order, for tests of the sequence: `pool-open <m>`, `warm <m>`, `assign <m>`, `link-open <s>`, `pool-close <m> <code> <reason>`. */
  readonly timeline: string[] = [];
  private readonly offers = new Map<string, { assignment: Assignment; when: AssignWhen }>();
  private readonly poolLinks = new Map<string, WebSocket>();
  private server!: Server;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 0 });
  private readonly links = new Map<string, WebSocket>();
  private readonly pendingCalls = new Map<number, (reply: any) => void>();
  private readonly pendingChannels = new Map<string, { sessionId: string; arrived: (ws: WebSocket) => void }>();
  private nextCall = 1;
  private wakers: Array<() => void> = [];

  private constructor(readonly key: SigningKey) {}

  static async start(key?: SigningKey): Promise<FakeEdge> {
    const edge = new FakeEdge(key ?? (await makeSigningKey()));
    edge.server = createServer((req, res) => void edge.http(req, res));
    edge.server.on("upgrade", (req, socket: Socket, head) => void edge.upgrade(req, socket, head).catch(() => socket.destroy()));
    await new Promise<void>((r) => edge.server.listen(0, "127.0.0.1", r));
    edge.url = `http://127.0.0.1:${(edge.server.address() as AddressInfo).port}`;
    return edge;
  }

  linkToken(sessionId: string, claims: { aud?: string; expIn?: number } = {}) {
    return signNodeSideToken(this.key, "link", { sub: sessionId, ...claims });
  }

  bootstrapToken(memberId: string, claims: { pool?: string; aud?: string; expIn?: number } = {}) {
    return signBootstrapToken(this.key, { sub: memberId, pool: TEST_POOL, ...claims });
  }

  /** The assignment this member gets, when it says `warm` (or, `on-open`, as soon as its pool link opens). */
  offer(memberId: string, assignment: Assignment, when: AssignWhen = "on-warm") {
    this.offers.set(memberId, { assignment, when });
    const link = this.poolLinks.get(memberId);
    if (link && (when === "on-open" || this.poolMessages(memberId, "warm").length > 0)) this.sendAssign(memberId);
  }

  poolMessages(memberId: string, t?: string): any[] {
    return this.poolReceived.filter((m) => m.memberId === memberId && (!t || m.message.t === t)).map((m) => m.message);
  }

  async waitForPool(memberId: string, t: string, timeoutMs = 30_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.poolMessages(memberId, t)[0];
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${t} from member ${memberId} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.wakers.push(r);
        setTimeout(r, 200);
      });
    }
  }

  /** Closes a member's pool link (4011 retires it), or drops it without a close frame. */
  closePoolLink(memberId: string, code?: number, reason?: string) {
    const ws = this.poolLinks.get(memberId);
    if (code === undefined) ws?.terminate();
    else ws?.close(code, reason);
  }

  private sendAssign(memberId: string) {
    const offer = this.offers.get(memberId);
    const link = this.poolLinks.get(memberId);
    if (!offer || !link) return;
    this.offers.delete(memberId);
    this.timeline.push(`assign ${memberId}`);
    link.send(JSON.stringify({ t: "assign", assignment: offer.assignment }));
  }

  /** Messages of one session, of one type. */
  messages(sessionId: string, t?: string): any[] {
    return this.received.filter((m) => m.sessionId === sessionId && (!t || m.message.t === t)).map((m) => m.message);
  }

  /** Waits until a message of type `t` arrived from the session. */
  async waitFor(sessionId: string, t: string, timeoutMs = 30_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages(sessionId, t)[0];
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${t} from ${sessionId} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.wakers.push(r);
        setTimeout(r, 200);
      });
    }
  }

  /** Sends a call on the session's link and resolves with the node's reply. */
  call(sessionId: string, call: NodeCall | Record<string, unknown>, timeoutMs = 30_000): Promise<any> {
    const link = this.links.get(sessionId);
    if (!link) return Promise.reject(new Error(`no link for ${sessionId}`));
    const id = this.nextCall++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${JSON.stringify(call)} within ${timeoutMs} ms`)), timeoutMs);
      this.pendingCalls.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      link.send(JSON.stringify({ t: "call", id, call }));
    });
  }

  end(sessionId: string, reason: string, detail?: string) {
    this.links.get(sessionId)?.send(JSON.stringify({ t: "end", reason, detail }));
  }

  /** Drops the session's link without a close frame, as a network cut would. */
  dropLink(sessionId: string) {
    this.links.get(sessionId)?.terminate();
  }

  closeLink(sessionId: string, code: number, reason: string) {
    this.links.get(sessionId)?.close(code, reason);
  }

  /** Opens a channel for a client: `open` over the link, then the node's socket. */
  async openChannel(sessionId: string, path: string, expiresAt: number): Promise<{ reply: any; channel?: WebSocket }> {
    const id = randomUUID();
    const arrived = new Promise<WebSocket>((resolve) => this.pendingChannels.set(id, { sessionId, arrived: resolve }));
    const reply = await this.call(sessionId, { op: "open", channel: id, path, expiresAt });
    if (!reply.ok) {
      this.pendingChannels.delete(id);
      return { reply };
    }
    return { reply, channel: await arrived };
  }

  stop() {
    for (const ws of this.wss.clients) ws.terminate();
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }

  private verify(token: string | undefined, audience: string, sessionId: string) {
    if (!token) return Promise.reject(new Error("no token"));
    return jwtVerify(token, createLocalJWKSet(this.key.jwks as JSONWebKeySet), { algorithms: ["ES256"], issuer: TOKEN_ISSUER, audience, subject: sessionId });
  }

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer) {
    const url = new URL(req.url ?? "/", this.url);
    const bearer = req.headers.authorization?.replace(/^Bearer /, "");
    const refuse = (status: number) => socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    let m: RegExpExecArray | null;
    if ((m = POOL_LINK.exec(url.pathname))) {
      const [, pool, memberId] = m;
      const claims = bearer
        ? await jwtVerify(bearer, createLocalJWKSet(this.key.jwks as JSONWebKeySet), {
            algorithms: ["ES256"],
            issuer: TOKEN_ISSUER,
            audience: POOL_LINK_TOKEN_AUDIENCE,
            subject: memberId,
          }).catch(() => undefined)
        : undefined;
      const status = claims?.payload.pool === decodeURIComponent(pool) ? 101 : 401;
      this.poolLinkAttempts.push({ memberId, status });
      if (status !== 101) return refuse(status);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.takePoolLink(memberId, ws));
    } else if ((m = LINK.exec(url.pathname))) {
      const sessionId = m[1];
      const delay = this.delayLinks.get(sessionId);
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
      const ok = await this.verify(bearer, LINK_TOKEN_AUDIENCE, sessionId).then(() => true, () => false);
      const status = !ok ? 401 : (this.refuseLinks.get(sessionId) ?? 101);
      this.linkAttempts.push({ sessionId, status });
      if (status !== 101) return refuse(status);
      this.wss.handleUpgrade(req, socket, head, (ws) => void this.takeLink(sessionId, ws));
    } else if ((m = CHANNEL.exec(url.pathname))) {
      const [, sessionId, id] = m;
      if (!(await this.verify(bearer, NODE_TOKEN_AUDIENCE, sessionId).then(() => true, () => false))) return refuse(401);
      const pending = this.pendingChannels.get(id);
      if (!pending || pending.sessionId !== sessionId) return refuse(404);
      this.pendingChannels.delete(id);
      this.wss.handleUpgrade(req, socket, head, (ws) => pending.arrived(ws));
    } else if ((m = CLIENT.exec(url.pathname))) {
      const [, sessionId, rest] = m;
      const token = url.searchParams.get("signingKey") ?? bearer;
      const claims = await this.verify(token, CDP_TOKEN_AUDIENCE, sessionId).catch(() => undefined);
      if (!claims) return refuse(401);
      await acceptClient(this, this.wss, { req, socket, head, sessionId, path: rest || "/devtools/browser", expiresAt: claims.payload.exp! * 1000 });
    } else refuse(404);
  }

  private takePoolLink(memberId: string, ws: WebSocket) {
    this.poolLinks.get(memberId)?.close(4009, "link replaced");
    this.poolLinks.set(memberId, ws);
    this.timeline.push(`pool-open ${memberId}`);
    ws.on("message", (data) => {
      const message = JSON.parse(String(data));
      this.poolReceived.push({ memberId, message, at: Date.now() });
      if (message.t === "warm") {
        this.timeline.push(`warm ${memberId}`);
        if (this.offers.get(memberId)?.when === "on-warm") this.sendAssign(memberId);
      }
      for (const wake of this.wakers.splice(0)) wake();
    });
    ws.on("close", (code, reason) => {
      this.poolCloses.push({ memberId, code, reason: String(reason), at: Date.now() });
      this.timeline.push(`pool-close ${memberId} ${code} ${String(reason)}`);
      if (this.poolLinks.get(memberId) === ws) this.poolLinks.delete(memberId);
      for (const wake of this.wakers.splice(0)) wake();
    });
    if (this.offers.get(memberId)?.when === "on-open") this.sendAssign(memberId);
  }

  private async takeLink(sessionId: string, ws: WebSocket) {
    if (this.over.has(sessionId)) return ws.close(4010, "session over");
    this.timeline.push(`link-open ${sessionId}`);
    this.links.get(sessionId)?.close(4009, "link replaced");
    this.links.set(sessionId, ws);
    ws.on("message", (data) => {
      const message = JSON.parse(String(data));
      this.received.push({ sessionId, message, at: Date.now() });
      if (message.t === "reply") this.pendingCalls.get(message.id)?.(message);
      for (const wake of this.wakers.splice(0)) wake();
    });
    ws.on("close", (code, reason) => {
      this.linkCloses.push({ sessionId, code, reason: String(reason) });
      if (this.links.get(sessionId) === ws) this.links.delete(sessionId);
      for (const wake of this.wakers.splice(0)) wake();
    });
    const nodeToken = await signNodeSideToken(this.key, "node", { sub: sessionId });
    ws.send(JSON.stringify({ t: "welcome", nodeToken }));
  }

  private async http(req: IncomingMessage, res: import("node:http").ServerResponse) {
    const url = new URL(req.url ?? "/", this.url);
    if (req.method === "GET" && url.pathname === "/.well-known/jwks.json") {
      this.jwksRequests++;
      return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(this.key.jwks));
    }
    const m = ARTIFACT.exec(url.pathname);
    if (!m) return res.writeHead(404).end();
    const [, sessionId, kind] = m;
    const bearer = req.headers.authorization?.replace(/^Bearer /, "");
    if (!(await this.verify(bearer, NODE_TOKEN_AUDIENCE, sessionId).then(() => true, () => false))) {
      return res.writeHead(401, { "content-type": "application/json" }).end('{"message":"bad node token"}');
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.requests.push({ sessionId, method: req.method ?? "", kind, body: Buffer.concat(chunks) });
    if (kind.startsWith("uploads/")) {
      const staged = this.staged.get(`${sessionId}/${decodeURIComponent(kind.slice("uploads/".length))}`);
      if (!staged) return res.writeHead(404).end('{"message":"nothing staged"}');
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": staged.body.length });
      if (!staged.cut) return res.end(staged.body);
      res.write(staged.body.subarray(0, staged.body.length >> 1), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    const blob = req.method === "GET" ? this.blobs.get(`${sessionId}/${kind}`) : undefined;
    if (blob) return res.writeHead(200, { "content-type": "application/octet-stream", "content-length": blob.length }).end(blob);
    if (req.method === "GET") return res.writeHead(404).end('{"message":"none"}');
    res.writeHead(req.method === "PUT" ? 204 : 200, { "content-type": "application/json" }).end(req.method === "PUT" ? undefined : "{}");
  }
}
