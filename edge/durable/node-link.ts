/**
 * A session's node link as its SessionObject holds it: one hibernatable WebSocket (a newer one
 * replaces the older), the edge's messages to the node, and `call`s, each answered by one `reply`
 * or failed by its deadline or the link's loss. Which socket is current survives hibernation (its
 * id is in storage and in the socket's attachment); calls in flight need not: each keeps its
 * caller's request, and so the object, alive.
 */
import { LinkClose, type EdgeToNode, type NodeCall, type NodeToEdge } from "../node-protocol.ts";
import { fail, ok, type Outcome } from "../errors.ts";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export const LINK_TAG = "link";
const CURRENT = "link";

interface PendingCall {
  resolve(outcome: Outcome<unknown>): void;
  timer: ReturnType<typeof setTimeout>;
}

type Reply = Extract<NodeToEdge, { t: "reply" }>;

const NOT_CONNECTED = fail(503, "The session's browser node is not connected", true);
const NO_ANSWER = fail(504, "The session's browser node did not answer in time", true);

export class NodeLink {
  private readonly calls = new Map<number, PendingCall>();
  private nextCall = 1;
  /** Calls asked before the session's first link opened (its `ready` may come over the pool link, docs/pool.md). */
  private readonly awaitingFirstLink = new Map<number, () => void>();

  constructor(private readonly ctx: DurableObjectState) {}

  /**
   * Takes `ws` (the server end of the node's upgrade) as the session's link, closing any older one,
   * and sends `welcome` on it first: a node reads nothing before it (browser-node/link/edge-link.ts),
   * so the calls that waited for this link go after it. Without `welcome` (the session is over) they
   * stay for sessionOver() to end.
   */
  open(ws: WebSocket, welcome?: Extract<EdgeToNode, { t: "welcome" }>): void {
    for (const older of this.ctx.getWebSockets(LINK_TAG)) closeQuietly(older, LinkClose.replaced.code, LinkClose.replaced.reason);
    const id = crypto.randomUUID();
    this.ctx.acceptWebSocket(ws, [LINK_TAG]);
    ws.serializeAttachment({ id });
    this.ctx.storage.kv.put(CURRENT, id);
    if (!welcome) return;
    sendJson(ws, welcome);
    const waiting = [...this.awaitingFirstLink.values()];
    this.awaitingFirstLink.clear();
    for (const send of waiting) send();
  }

  /** Whether `ws` is the current link (a replaced one's late messages and close mean nothing). */
  isCurrent(ws: WebSocket): boolean {
    const id = this.ctx.storage.kv.get<string>(CURRENT);
    return id !== undefined && (ws.deserializeAttachment() as { id?: string } | null)?.id === id;
  }

  /** The current link while it is open. */
  socket(): WebSocket | undefined {
    return this.ctx.getWebSockets(LINK_TAG).find((ws) => ws.readyState === WebSocket.OPEN && this.isCurrent(ws));
  }

  send(message: EdgeToNode): boolean {
    return sendJson(this.socket(), message);
  }

  /**
   * Asks the node; the answer is its reply's value, or a failure to pass on as it is. Before the
   * session's first link has opened (the node said `ready` over its pool link and is still
   * dialing) the call waits for it, within its own deadline; a link that dropped fails it at once.
   */
  call(call: NodeCall, timeoutMs: number): Promise<Outcome<unknown>> {
    const id = this.nextCall++;
    const waiting = this.neverLinked();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, this.neverLinked() ? NOT_CONNECTED : NO_ANSWER), timeoutMs);
      this.calls.set(id, { resolve, timer });
      const send = () => {
        if (this.calls.has(id) && !this.send({ t: "call", id, call })) this.settle(id, NOT_CONNECTED);
      };
      if (waiting) this.awaitingFirstLink.set(id, send);
      else send();
    });
  }

  /** No link of this session has opened yet. */
  private neverLinked(): boolean {
    return this.ctx.storage.kv.get(CURRENT) === undefined;
  }

  reply(reply: Reply): void {
    if (reply.ok) return this.settle(reply.id, ok(reply.value));
    // The node's status passes on when it is an error status; anything else is the node's fault.
    const status = reply.status >= 400 && reply.status <= 599 ? (reply.status as ContentfulStatusCode) : 502;
    this.settle(reply.id, fail(status, reply.message));
  }

  /** The session ended before its node's first link opened: the calls waiting for that link end too. */
  sessionOver(): void {
    for (const id of [...this.awaitingFirstLink.keys()]) this.settle(id, fail(409, "The session ended before its browser node connected", false));
  }

  /** The link dropped: nothing asked on it will be answered. */
  dropCalls(): void {
    for (const id of [...this.calls.keys()]) this.settle(id, fail(502, "The session's browser node lost its link", true));
  }

  /** Closes the current link, e.g. with LinkClose.sessionOver. */
  close(code: number, reason: string): void {
    const ws = this.socket();
    if (ws) closeQuietly(ws, code, reason);
  }

  private settle(id: number, outcome: Outcome<unknown>) {
    this.awaitingFirstLink.delete(id); // a call that timed out waiting is not sent later
    const call = this.calls.get(id);
    if (!call) return; // answered already, or timed out
    this.calls.delete(id);
    clearTimeout(call.timer);
    call.resolve(outcome);
  }
}

/** Sends `message` as JSON text; false when there is no open socket or the send failed. */
export function sendJson(ws: WebSocket | undefined, message: unknown): boolean {
  if (!ws) return false;
  try {
    ws.send(JSON.stringify(message));
    return true;
  } catch {
    return false;
  }
}

/** Closes `ws` unless it is closed already. 1005 (a close frame without a code) is passed on as one. */
export function closeQuietly(ws: WebSocket, code: number, reason = "") {
  try {
    if (code === 1005) ws.close();
    else ws.close(code === 1006 || code === 1015 ? 1000 : code, reason);
  } catch {
    // closed already
  }
}
