/**
 * The node's pool link (docs/pool.md): one outbound WebSocket to its pool's Durable Object,
 * opened with the bootstrap token, on which the node says `warm` and waits for its one
 * `assign`. Until then the link is the node's only reason to live: a close with 4011 (retired),
 * any other drop or an unanswered ping, or a refusal ends the node. Once assigned, the session
 * link holds the node; the pool link carries the session's `ready` if it is sent before that
 * link opened, is closed with 1000 `assigned` when that link's `welcome` came, and whatever
 * happens to it afterwards changes nothing.
 */
import WebSocket from "ws";
import { PoolLinkClose, poolLinkPath, type Assignment, type NodeToPool } from "../../edge/node-protocol.ts";
import { backoffDelay, mayPassLater, sleep, type Backoff } from "../../edge/retries.ts";
import { log } from "../log.ts";
import { closeWithin, wsUrl } from "./edge-link.ts";
import type { BootContact } from "../config.ts";

export interface PoolLinkHandlers {
  /** The pool's `assign`, once, as sent (sessionConfig checks it). */
  assign(assignment: Partial<Assignment>): void;
  /** The node leaves the pool unassigned: exit code 0 (retired, dropped) or 1 (token refused, never opened). */
  gone(code: 0 | 1, detail: string): void;
}

const PING_EVERY_MS = 10_000;
const REDIALS: Backoff = { firstDelayMs: 100, maxDelayMs: 1000 };

type Dialed = { open: WebSocket } | { retry: string } | { final: string; status: number };

export class PoolLink {
  private socket: WebSocket | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private warmMessage: NodeToPool | undefined;
  /** Set once the link decides nothing any more: assigned, gone, or closed by the node. */
  private settled: "assigned" | "over" | undefined;
  private readonly url: URL;

  constructor(
    private readonly options: Pick<BootContact, "edgeSocketUrl" | "pool" | "memberId" | "bootstrapToken">,
    private readonly handlers: PoolLinkHandlers,
  ) {
    this.url = wsUrl(options.edgeSocketUrl, poolLinkPath(options.pool, options.memberId));
  }

  get assigned() {
    return this.settled === "assigned";
  }

  /** Dials until the link is open; a link not open by `deadline` (epoch ms) is given up (exit 1). */
  start(deadline: number) {
    void this.dialLoop(deadline);
  }

  /** `warm`, now or as soon as the link is open. */
  warm(browserVersion: string) {
    this.warmMessage = { t: "warm", browserVersion };
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(this.warmMessage));
  }

  /**
   * The session's `ready`, while this link is still open (the session link not yet): the pool
   * passes it to the session, whose create then answers without waiting for the session link.
   * False when the link is gone; the session link carries `ready` in any case.
   */
  ready(message: Extract<NodeToPool, { t: "ready" }>): boolean {
    if (this.settled !== "assigned" || this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** The session link is open: the pool may let go of this member (1000 `assigned`). */
  handedOver(): Promise<void> {
    return this.close(PoolLinkClose.assigned.code, PoolLinkClose.assigned.reason);
  }

  /** Closes the link for good (the node is stopping); no handler runs any more. */
  close(code = 1001, reason = "node stopping"): Promise<void> {
    this.settled ??= "over";
    clearInterval(this.pinger);
    const ws = this.socket;
    this.socket = undefined;
    return ws ? closeWithin(ws, code, reason) : Promise.resolve();
  }

  private async dialLoop(deadline: number) {
    for (let attempt = 1; !this.settled; attempt++) {
      const dialed = await this.dialOnce(attempt);
      if ("open" in dialed || this.settled) return;
      if ("final" in dialed) {
        // The token refused is a fault of the node's start (exit 1); any other refusal means the
        // pool does not want this member (forgotten meanwhile): it leaves as a retired one does.
        const tokenRefused = dialed.status === 401 || dialed.status === 403;
        return this.gone(tokenRefused ? 1 : 0, `the edge refused the pool link${tokenRefused ? "'s bootstrap token" : ""}: ${dialed.final}`);
      }
      log("pool-link-retry", { attempt, problem: dialed.retry }, "warn");
      const delay = backoffDelay(REDIALS, attempt);
      if (Date.now() + delay > deadline) return this.gone(1, `the pool link did not open: ${dialed.retry}`);
      await sleep(delay);
    }
  }

  /** One dial; an opened socket is adopted at once, so a message right behind the upgrade is not missed. */
  private dialOnce(attempt: number): Promise<Dialed> {
    return new Promise((resolve) => {
      let done = false;
      const settle = (outcome: Dialed) => {
        if (done) return;
        done = true;
        if (!("open" in outcome)) ws.terminate();
        resolve(outcome);
      };
      const ws = new WebSocket(this.url, {
        headers: { authorization: `Bearer ${this.options.bootstrapToken}` },
        perMessageDeflate: false,
        handshakeTimeout: 10_000,
      });
      ws.on("error", (err) => settle({ retry: err.message }));
      ws.once("unexpected-response", (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        settle(mayPassLater(status) ? { retry: `HTTP ${status}` } : { final: `HTTP ${status}`, status });
      });
      ws.once("open", () => {
        if (this.settled) ws.terminate();
        else this.adopt(ws, attempt);
        settle({ open: ws });
      });
      ws.once("close", (code, reason) => settle({ retry: `closed with ${code} ${String(reason)}`.trim() }));
    });
  }

  private adopt(ws: WebSocket, attempt: number) {
    this.socket = ws;
    log("pool-link-open", { attempt });
    ws.on("message", (data, isBinary) => this.receive(data, isBinary));
    ws.on("close", (code, reason) => this.dropped(ws, code, String(reason)));
    let answered = true;
    ws.on("pong", () => (answered = true));
    this.pinger = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (!answered) return ws.terminate(); // dead without TCP noticing: its close comes
      answered = false;
      ws.ping();
    }, PING_EVERY_MS);
    this.pinger.unref();
    if (this.warmMessage) ws.send(JSON.stringify(this.warmMessage));
  }

  private receive(data: WebSocket.RawData, isBinary: boolean) {
    let message: { t?: unknown; assignment?: unknown } | undefined;
    try {
      message = isBinary ? undefined : JSON.parse(String(data));
    } catch {
      message = undefined;
    }
    if (message?.t !== "assign" || typeof message.assignment !== "object" || message.assignment === null) {
      return log("pool-link-message-ignored", { t: String(message?.t).slice(0, 40) }, "warn");
    }
    if (this.settled) return; // a second assign (or one after the node stopped) changes nothing
    this.settled = "assigned";
    clearInterval(this.pinger);
    this.handlers.assign(message.assignment as Partial<Assignment>);
  }

  private dropped(ws: WebSocket, code: number, reason: string) {
    if (ws !== this.socket) return;
    this.socket = undefined;
    clearInterval(this.pinger);
    if (this.settled) return;
    if (code === PoolLinkClose.retired.code) return this.gone(0, "the pool retired this member");
    this.gone(0, `the pool link dropped before an assignment (${`${code} ${reason}`.trim()})`);
  }

  private gone(code: 0 | 1, detail: string) {
    if (this.settled) return;
    this.settled = "over";
    clearInterval(this.pinger);
    this.handlers.gone(code, detail);
  }
}
