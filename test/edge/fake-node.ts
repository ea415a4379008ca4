/**
 * Plays a browser node, from inside the test. As a pool member (`FakeMember`) it dials its pool
 * link with the bootstrap token of its RunTask environment, may report `warm`, and takes its
 * `assign`. On its session link (`FakeNode`) it dials `nodeLinkPath` through the Worker with the
 * assignment's link token (as a node does), keeps the `welcome`'s node token, reports `ready`
 * and `exit`, answers the edge's `call`s, and opens a channel for every `open`. What a channel
 * leads to is the test's choice: a scripted peer the test drives (`channels`), or a real
 * Chromium's endpoint (`chromiumCalls`).
 */
import { exports } from "cloudflare:workers";
import {
  nodeChannelPath,
  nodeLinkPath,
  nodeStagedUploadPath,
  poolLinkPath,
  PoolLinkClose,
  type Assignment,
  type EdgeToNode,
  type PoolToNode,
  type ExitReason,
  type NodeCall,
  type NodeToEdge,
} from "../../edge/node-protocol.ts";

export type Reply = { ok: true; value: unknown } | { ok: false; status: number; message: string };
export type CallHandler = (call: NodeCall, node: FakeNode) => Promise<Reply>;
export interface Closed {
  code: number;
  reason: string;
}

const BASE = "http://edge.test";

/** A WebSocket upgrade through the Worker; the answer keeps its status and body when refused. */
export async function upgrade(path: string, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(new Request(`${BASE}${path}`, { headers: { Upgrade: "websocket", ...headers } }));
  const ws = res.webSocket ?? undefined;
  if (ws) {
    ws.binaryType = "arraybuffer";
    ws.accept();
  }
  return { res, ws, body: ws ? undefined : ((await res.json().catch(() => undefined)) as { message?: string } | undefined) };
}

/** Resolves with a socket's close frame (code and reason). */
export const closeOf = (ws: WebSocket) =>
  new Promise<Closed>((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }), { once: true }));

/** The next message on a socket, as it came (string or ArrayBuffer). */
export const nextMessage = (ws: WebSocket) =>
  new Promise<string | ArrayBuffer>((resolve) => ws.addEventListener("message", (e) => resolve(e.data as string | ArrayBuffer), { once: true }));

/** A pool member's side of its pool link. */
export class FakeMember {
  readonly received: PoolToNode[] = [];
  readonly closed: Promise<Closed>;
  private listeners: (() => void)[] = [];

  private constructor(
    readonly pool: string,
    readonly memberId: string,
    readonly ws: WebSocket,
  ) {
    this.closed = closeOf(ws);
    ws.addEventListener("message", (event) => {
      this.received.push(JSON.parse(String(event.data)) as PoolToNode);
      for (const wake of this.listeners.splice(0)) wake();
    });
  }

  /** Opens the member's pool link with its bootstrap token (throws when refused). */
  static async dial(pool: string, memberId: string, bootstrapToken: string): Promise<FakeMember> {
    const { res, ws, body } = await upgrade(poolLinkPath(pool, memberId), { authorization: `Bearer ${bootstrapToken}` });
    if (!ws) throw new Error(`pool link refused: ${res.status} ${body?.message}`);
    return new FakeMember(pool, memberId, ws);
  }

  warm(browserVersion = "Chrome/156.0.0.0") {
    this.ws.send(JSON.stringify({ t: "warm", browserVersion }));
  }

  /** The assignment, once it came. */
  async assignment(timeoutMs = 10_000): Promise<Assignment> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((m) => m.t === "assign");
      if (found) return found.assignment;
      if (Date.now() > deadline) throw new Error(`member ${this.memberId}: no assignment`);
      await new Promise<void>((resolve) => {
        this.listeners.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** The session's `ready` ahead of its session link, as a node still dialing that link sends it. */
  ready(browserVersion = "Chrome/156.0.0.0") {
    this.ws.send(JSON.stringify({ t: "ready", browserVersion }));
  }

  /** What a node does once its session link is open: the session holds it now. */
  handOver() {
    this.ws.close(PoolLinkClose.assigned.code, PoolLinkClose.assigned.reason);
  }
}

export class FakeNode {
  readonly received: EdgeToNode[] = [];
  readonly calls: NodeCall[] = [];
  /** The node's side of every channel it opened (scripted peers), in order. */
  readonly channels: WebSocket[] = [];
  /** Each channel's close frame, in the same order (listened for from the start). */
  readonly channelCloses: Promise<Closed>[] = [];
  nodeToken = "";
  readonly closed: Promise<Closed>;
  private listeners: (() => void)[] = [];

  private constructor(
    readonly sessionId: string,
    readonly linkToken: string,
    readonly ws: WebSocket,
    public handler: CallHandler,
  ) {
    this.closed = closeOf(ws);
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as EdgeToNode;
      this.received.push(message);
      if (message.t === "welcome") this.nodeToken = message.nodeToken;
      // As a node (browser-node/link/edge-link.ts): nothing before the link's `welcome` is read.
      if (!this.nodeToken) return;
      if (message.t === "call") void this.answer(message.id, message.call);
      for (const wake of this.listeners.splice(0)) wake();
    });
  }

  /** Opens the link and waits for its `welcome`. */
  static async dial(sessionId: string, linkToken: string, handler: CallHandler = scriptedCalls): Promise<FakeNode> {
    const { res, ws, body } = await upgrade(nodeLinkPath(sessionId), { authorization: `Bearer ${linkToken}` });
    if (!ws) throw new Error(`link refused: ${res.status} ${body?.message}`);
    const node = new FakeNode(sessionId, linkToken, ws, handler);
    await node.next((m) => m.t === "welcome");
    return node;
  }

  send(message: NodeToEdge) {
    this.ws.send(JSON.stringify(message));
  }

  ready(report: { browserVersion?: string; direct?: { host?: string; port: number } } = {}) {
    this.send({ t: "ready", browserVersion: report.browserVersion ?? "Chrome/156.0.0.0", ...(report.direct ? { direct: report.direct } : {}) });
  }

  exit(reason: ExitReason, detail?: string) {
    this.send({ t: "exit", reason, ...(detail ? { detail } : {}) });
  }

  /** The first message (received so far or to come) that `match`es. */
  async next(match: (m: EdgeToNode) => boolean, timeoutMs = 10_000): Promise<EdgeToNode> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such message; got ${JSON.stringify(this.received.map((m) => m.t))}`);
      await new Promise<void>((resolve) => {
        this.listeners.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** Dials the channel the edge asked for, with the node token. */
  async openChannel(channel: string, token = this.nodeToken) {
    return upgrade(nodeChannelPath(this.sessionId, channel), { authorization: `Bearer ${token}` });
  }

  private async answer(id: number, call: NodeCall) {
    this.calls.push(call);
    const reply = await this.handler(call, this).catch((error: unknown) => ({ ok: false as const, status: 500, message: String(error) }));
    this.send({ t: "reply", id, ...reply } as NodeToEdge);
  }
}

/** Opens every channel asked for and hands it to the test; answers the other calls plainly. */
export const scriptedCalls: CallHandler = async (call, node) => {
  switch (call.op) {
    case "open": {
      const { ws, res } = await node.openChannel(call.channel);
      if (!ws) return { ok: false, status: 502, message: `channel refused: ${res.status}` };
      node.channels.push(ws);
      node.channelCloses.push(closeOf(ws));
      return { ok: true, value: null };
    }
    case "json":
      return { ok: true, value: call.path === "/json/list" ? [{ id: "PAGE1", type: "page", url: "about:blank", title: "blank" }] : {} };
    case "upload":
      return fetchStagedUpload(node, call.name);
    case "flush-downloads":
      return { ok: true, value: null };
    case "frontend":
      return { ok: false, status: 404, message: "no frontend here" };
  }
};

/** What the node does for `upload`: fetch the staged file with its node token. */
export async function fetchStagedUpload(node: FakeNode, name: string): Promise<Reply> {
  const res = await exports.default.fetch(
    new Request(`${BASE}${nodeStagedUploadPath(node.sessionId, name)}`, { headers: { authorization: `Bearer ${node.nodeToken}` } }),
  );
  if (res.status !== 200) return { ok: false, status: 502, message: `staged upload: ${res.status}` };
  const bytes = new Uint8Array(await res.arrayBuffer());
  fetchedUploads.push({ sessionId: node.sessionId, name, bytes });
  return { ok: true, value: { path: `/tmp/wallcrawler-uploads/${name}` } };
}

/** Every staged upload a fake node fetched. */
export const fetchedUploads: { sessionId: string; name: string; bytes: Uint8Array }[] = [];

/** A node in front of a real Chromium: `/json/*`, frontend files, and channels spliced to its sockets. */
export const chromiumCalls =
  (port: number): CallHandler =>
  async (call, node) => {
    const chromium = `http://127.0.0.1:${port}`;
    switch (call.op) {
      case "json":
        return { ok: true, value: await (await fetch(`${chromium}${call.path}`)).json() };
      case "frontend": {
        const res = await fetch(`${chromium}${call.path}`);
        const bytes = new Uint8Array(await res.arrayBuffer());
        let binary = "";
        for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return { ok: true, value: { status: res.status, contentType: res.headers.get("content-type") ?? undefined, body: btoa(binary) } };
      }
      case "open": {
        let path = call.path;
        if (path === "/devtools/browser") path = new URL(((await (await fetch(`${chromium}/json/version`)).json()) as { webSocketDebuggerUrl: string }).webSocketDebuggerUrl).pathname;
        const up = await fetch(`${chromium}${path}`, { headers: { Upgrade: "websocket" } });
        if (!up.webSocket) return { ok: false, status: up.status === 404 ? 404 : 502, message: up.status === 404 ? "no such target" : "browser unreachable" };
        const { ws } = await node.openChannel(call.channel);
        if (!ws) return { ok: false, status: 502, message: "channel refused" };
        splice(up.webSocket, ws);
        node.channels.push(ws);
        return { ok: true, value: null };
      }
      default:
        return scriptedCalls(call, node);
    }
  };

function splice(chromium: WebSocket, channel: WebSocket) {
  chromium.binaryType = "arraybuffer";
  chromium.accept();
  chromium.addEventListener("message", (e) => channel.send(e.data as string | ArrayBuffer));
  channel.addEventListener("message", (e) => chromium.send(e.data as string | ArrayBuffer));
  chromium.addEventListener("close", () => channel.close(1011, "browser crashed"));
  channel.addEventListener("close", () => chromium.close(1000));
}
