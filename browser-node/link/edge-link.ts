/**
 * The node's link to the edge (docs/node-link.md): one outbound WebSocket to its session's Durable
 * Object, opened with the link token, carrying JSON text frames both ways. The edge's first
 * message on every (re)opened link is `welcome` with the node token, the credential of the node's
 * HTTP artifact requests and channels. A link that drops is redialed with backoff (the edge waits
 * LINK_RECONNECT_GRACE_MS for it); one refused for good, replaced, or not back in time is lost,
 * and the session with it.
 */
import WebSocket from "ws";
import { EXIT_REASONS, LINK_RECONNECT_GRACE_MS, LinkClose, nodeLinkPath, type EdgeToNode, type ExitReason, type NodeCall, type NodeExit, type NodeToEdge } from "../../edge/node-protocol.ts";
import { backoffDelay, mayPassLater, sleep, type Backoff } from "../../edge/retries.ts";
import { log } from "../log.ts";
import { NodeError } from "../node-error.ts";
import type { EdgeContact } from "../config.ts";

export interface LinkHandlers {
  /** The edge asks for something: the value, or a NodeError whose status the reply carries. */
  call(call: NodeCall): Promise<unknown>;
  /** The session is over at the edge (`end`, or the link closed with LinkClose.sessionOver). */
  end(reason: ExitReason, detail?: string): void;
  /** The link is gone for good: refused, replaced, or not back within its grace. */
  lost(detail: string): void;
  /** The first `welcome` came: the session holds the node now (its pool link may close). */
  opened?(): void;
}

/** `http(s)://edge` + path → `ws(s)://edge/path` (the edge's socket URL: BootConfig.edgeSocketUrl). */
export function wsUrl(edgeSocketUrl: URL, path: string): URL {
  const url = new URL(path, edgeSocketUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url;
}

/** A link whose pings go unanswered this long is dead even if TCP has not noticed. */
const PING_EVERY_MS = 10_000;
const WELCOME_WAIT_MS = 10_000;
/** Redials 0.1 s apart at first, then up to 1 s apart. */
const REDIALS: Backoff = { firstDelayMs: 100, maxDelayMs: 1000 };
/** After a drop the node redials this long: the edge's grace, and room for an answer in flight. */
const REDIAL_FOR_MS = 2 * LINK_RECONNECT_GRACE_MS;
/** `exit` on a link that is down waits this long for it to come back. */
const EXIT_WAIT_MS = 5000;
const CLOSE_WAIT_MS = 1000;

/** Sends a close frame and waits for the other side's, or drops the socket after CLOSE_WAIT_MS. */
export function closeWithin(ws: WebSocket, code: number, reason: string): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, CLOSE_WAIT_MS);
    ws.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(code, reason);
  });
}

type Dialed = { open: WebSocket } | { retry: string } | { final: string } | { over: string };

export class EdgeLink {
  private socket: WebSocket | undefined;
  private token: string | undefined;
  /** Set once the link will not be (re)opened: closed by the node, or lost. */
  private over: string | undefined;
  private dialing: Promise<void> | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private welcomed = false;
  private waiters: Array<{ open: (ws: WebSocket) => void; fail: (err: Error) => void }> = [];
  private readonly url: URL;

  constructor(
    private readonly options: EdgeContact,
    private readonly handlers: LinkHandlers,
  ) {
    this.url = wsUrl(options.edgeSocketUrl, nodeLinkPath(options.sessionId));
  }

  /** Dials until the link is open (or the node gives up on it: `close`). */
  start() {
    this.redial(Number.POSITIVE_INFINITY);
  }

  /** The node token from the latest `welcome`; waits for the first one. */
  async nodeToken(): Promise<string> {
    if (this.token) return this.token;
    await this.whenOpen(Number.POSITIVE_INFINITY);
    return this.token!;
  }

  /** Whether the link is open now. */
  get open(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Sends `ready` once the link is open; throws NodeError("not-ready") past `deadline`. */
  async ready(message: Extract<NodeToEdge, { t: "ready" }>, deadline: number): Promise<void> {
    for (;;) {
      const ws = await this.whenOpen(deadline).catch((err: Error) => {
        throw new NodeError("not-ready", `the link to the edge is not open: ${err.message}`);
      });
      if (await sent(ws, message)) return;
    }
  }

  /** Reports the node's exit, redialing briefly if the link is down; false when it could not. */
  async exit(body: NodeExit): Promise<boolean> {
    const deadline = Date.now() + EXIT_WAIT_MS;
    if (!this.over && !this.open) this.redial(deadline);
    while (Date.now() < deadline) {
      const ws = await this.whenOpen(deadline).catch(() => undefined);
      if (!ws) return false;
      if (await sent(ws, { t: "exit", ...body })) return true;
    }
    return false;
  }

  /** Ends the link for good: a 1000 close frame, answered or not within a second. */
  async close(): Promise<void> {
    this.finish("the node closed its link");
    const ws = this.socket;
    this.socket = undefined;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await closeWithin(ws, 1000, "node exited");
  }

  private whenOpen(deadline: number): Promise<WebSocket> {
    if (this.socket?.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    if (this.over) return Promise.reject(new Error(this.over));
    return new Promise((resolve, reject) => {
      const waiter = {
        open: (ws: WebSocket) => {
          clearTimeout(timer);
          resolve(ws);
        },
        fail: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const left = deadline - Date.now();
      const timer = Number.isFinite(left)
        ? setTimeout(() => {
            this.waiters = this.waiters.filter((w) => w !== waiter);
            reject(new Error("not open in time"));
          }, Math.max(0, left))
        : undefined;
      this.waiters.push(waiter);
    });
  }

  /** Starts a dial loop (unless one runs) that gives up at `until`. */
  private redial(until: number) {
    this.dialing ??= this.dialLoop(until).finally(() => (this.dialing = undefined));
  }

  private async dialLoop(until: number) {
    for (let attempt = 1; !this.over; attempt++) {
      const dialed = await this.dialOnce();
      if (this.over) {
        if ("open" in dialed) dialed.open.terminate();
        return;
      }
      if ("open" in dialed) return this.adopt(dialed.open, attempt);
      if ("final" in dialed) return this.lose(`the edge refused the link: ${dialed.final}`);
      if ("over" in dialed) return this.sessionOver();
      log("link-retry", { attempt, problem: dialed.retry }, "warn");
      const delay = backoffDelay(REDIALS, attempt);
      if (Date.now() + delay > until) return this.lose(`the link did not come back: ${dialed.retry}`);
      await sleep(delay);
    }
  }

  /** One dial: open and welcomed, refused (final or not), answered "session over", or failed on the way. */
  private dialOnce(): Promise<Dialed> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: Dialed) => {
        if (settled) return;
        settled = true;
        clearTimeout(welcomeTimer);
        if (!("open" in outcome)) ws.terminate();
        resolve(outcome);
      };
      const ws = new WebSocket(this.url, {
        headers: { authorization: `Bearer ${this.options.linkToken}` },
        perMessageDeflate: false,
        handshakeTimeout: WELCOME_WAIT_MS,
      });
      const welcomeTimer = setTimeout(() => settle({ retry: `no welcome within ${WELCOME_WAIT_MS} ms` }), WELCOME_WAIT_MS);
      ws.on("error", (err) => settle({ retry: err.message }));
      ws.once("unexpected-response", (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        settle(mayPassLater(status) ? { retry: `HTTP ${status}` } : { final: `HTTP ${status}` });
      });
      ws.on("message", (data, isBinary) => {
        const message = parse(data, isBinary);
        if (settled) return this.receive(ws, message);
        if (message?.t === "welcome" && typeof message.nodeToken === "string" && message.nodeToken) {
          this.token = message.nodeToken;
          settle({ open: ws });
        }
      });
      ws.once("close", (code, reason) => {
        if (!settled) {
          const why = `closed with ${code} ${String(reason)}`.trim();
          // The edge takes a link of a session that is over only to close it with 4010, before any welcome.
          if (code === LinkClose.sessionOver.code) settle({ over: why });
          else settle(code === LinkClose.replaced.code ? { final: why } : { retry: why });
        } else this.dropped(ws, code, String(reason));
      });
    });
  }

  private adopt(ws: WebSocket, attempt: number) {
    this.socket = ws;
    log("link-open", { attempt });
    let answered = true;
    ws.on("pong", () => (answered = true));
    clearInterval(this.pinger);
    this.pinger = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return; // closing: its close event comes
      if (!answered) return ws.terminate(); // dead without TCP noticing: redial
      answered = false;
      ws.ping();
    }, PING_EVERY_MS);
    this.pinger.unref();
    if (!this.welcomed) this.handlers.opened?.();
    this.welcomed = true;
    for (const waiter of this.waiters.splice(0)) waiter.open(ws);
  }

  private dropped(ws: WebSocket, code: number, reason: string) {
    if (ws !== this.socket) return;
    this.socket = undefined;
    clearInterval(this.pinger);
    if (this.over) return;
    if (code === LinkClose.sessionOver.code) return this.sessionOver();
    if (code === LinkClose.replaced.code) return this.lose("a newer link for this session replaced this one");
    log("link-dropped", { code, reason }, "warn");
    this.redial(Date.now() + REDIAL_FOR_MS);
  }

  private receive(ws: WebSocket, message: Partial<EdgeToNode> | undefined) {
    if (!message) return log("link-message-ignored", { problem: "not a JSON object" }, "warn");
    if (message.t === "welcome" && typeof message.nodeToken === "string" && message.nodeToken) {
      this.token = message.nodeToken;
    } else if (message.t === "end") {
      const reason = (EXIT_REASONS as readonly unknown[]).includes(message.reason) ? message.reason! : "released";
      this.handlers.end(reason, typeof message.detail === "string" ? message.detail.slice(0, 2000) : undefined);
    } else if (message.t === "call" && Number.isSafeInteger(message.id)) {
      void this.answer(ws, message.id!, message.call);
    } else {
      log("link-message-ignored", { t: String(message.t).slice(0, 40) }, "warn");
    }
  }

  /** Runs a call and replies on the socket it came on (a call from a dropped link has nobody to answer). */
  private async answer(ws: WebSocket, id: number, call: NodeCall | undefined) {
    let reply: NodeToEdge;
    try {
      reply = { t: "reply", id, ok: true, value: (await this.handlers.call(call as NodeCall)) ?? null };
    } catch (err) {
      const status = err instanceof NodeError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (status >= 500) log("call-failed", { op: (call as { op?: unknown } | undefined)?.op, status, message }, "warn");
      reply = { t: "reply", id, ok: false, status, message: message.slice(0, 2000) };
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(reply));
  }

  /** The edge says the session is over (4010): it ends as released, with no redial and no exit to report. */
  private sessionOver() {
    if (this.over) return;
    this.finish("the session is over at the edge");
    this.handlers.end("released", "the edge closed the link: the session is over");
  }

  private lose(detail: string) {
    if (this.over) return;
    this.finish(detail);
    log("link-lost", { detail }, "error");
    this.handlers.lost(detail);
  }

  private finish(detail: string) {
    this.over ??= detail;
    clearInterval(this.pinger);
    for (const waiter of this.waiters.splice(0)) waiter.fail(new Error(detail));
  }
}

function parse(data: WebSocket.RawData, isBinary: boolean): Record<string, any> | undefined {
  if (isBinary) return undefined;
  try {
    const value = JSON.parse(String(data));
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Sends one message; true once it was handed to the socket without error. */
function sent(ws: WebSocket, message: NodeToEdge): Promise<boolean> {
  if (ws.readyState !== WebSocket.OPEN) return Promise.resolve(false);
  return new Promise((resolve) => ws.send(JSON.stringify(message), (err) => resolve(!err)));
}

/** For a node that cannot serve its session (a configuration error): opens the link only to report why. */
export async function reportExit(options: EdgeContact, body: NodeExit): Promise<boolean> {
  const refuse = async () => {
    throw new NodeError("error", "the node is exiting", { status: 503 });
  };
  const link = new EdgeLink(options, { call: refuse, end: () => {}, lost: () => {} });
  link.start();
  const reported = await link.exit(body);
  await link.close();
  return reported;
}
