/**
 * A session's CDP clients through the edge. Each client's socket is paired with the channel its
 * node opened for it (`open` on the link, then a WebSocket to `nodeChannelPath`), and the two are
 * relayed message for message: text stays text, binary stays binary, nothing is parsed or
 * re-encoded, and no compression is negotiated on either side. A close on one side closes the
 * other with the same code and reason. Sockets are plain (not hibernatable): an open client keeps
 * the object, and its timers, alive, as a relay must.
 */
import { CloseCode } from "../node-protocol.ts";
import { closeQuietly } from "./node-link.ts";

export interface CloseReason {
  code: number;
  reason: string;
}

/** The client's side when the node's side dropped without a close frame. */
const NODE_SIDE_LOST = CloseCode.nodeError;
/** The node's side when the client dropped without one. */
const CLIENT_SIDE_LOST: CloseReason = { code: 1001, reason: "client went away" };

/** One accepted socket: what arrives before it is paired is held, then forwarded in order. */
export class RelaySide {
  private held: (string | ArrayBuffer)[] = [];
  private heldClose?: CloseReason;
  private peer?: RelaySide;
  private closed = false;
  /** Called once, when this side is closed. */
  onClosed = () => {};

  constructor(
    private readonly ws: WebSocket,
    /** What the peer gets when this side drops without a close frame. */
    private readonly lost: CloseReason,
  ) {
    ws.binaryType = "arraybuffer";
    ws.accept();
    ws.addEventListener("message", (event) => {
      if (this.peer) this.peer.send(event.data as string | ArrayBuffer);
      else this.held.push(event.data as string | ArrayBuffer);
    });
    ws.addEventListener("close", (event) => this.ended(event.code === 1006 ? undefined : { code: event.code, reason: event.reason }));
    ws.addEventListener("error", () => this.ended(undefined));
  }

  pairWith(peer: RelaySide) {
    this.peer = peer;
    for (const message of this.held.splice(0)) peer.send(message);
    if (this.heldClose) peer.close(this.heldClose);
  }

  send(message: string | ArrayBuffer) {
    try {
      this.ws.send(message);
    } catch {
      // closing: its close event follows
    }
  }

  close(why: CloseReason) {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.ws, why.code, why.reason);
    this.onClosed();
  }

  /** It sent a close frame (`why`, answered with the same) or dropped (undefined): the peer learns which. */
  private ended(why: CloseReason | undefined) {
    const passOn = why ?? this.lost;
    if (this.peer) this.peer.close(passOn);
    else this.heldClose = passOn;
    this.close(why ?? { code: 1000, reason: "" });
  }
}

interface Pair {
  client: RelaySide;
  channel: RelaySide;
  expiry?: ReturnType<typeof setTimeout>;
}

export interface ExpectedChannel {
  channel: string;
  /** The node's socket for it, or undefined once `timeoutMs` passed (or cancelled). */
  arrived: Promise<RelaySide | undefined>;
  cancel(): void;
}

export class CdpRelay {
  private readonly waiting = new Map<string, (side: RelaySide | undefined) => void>();
  private readonly pairs = new Set<Pair>();

  /** A fresh channel id, to be sent in `open`, and the wait for the node's socket on it. */
  expect(timeoutMs: number): ExpectedChannel {
    const channel = crypto.randomUUID();
    let settle!: (side: RelaySide | undefined) => void;
    const arrived = new Promise<RelaySide | undefined>((resolve) => (settle = resolve));
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (side: RelaySide | undefined) => {
      clearTimeout(timer);
      this.waiting.delete(channel);
      settle(side);
    };
    this.waiting.set(channel, done);
    return { channel, arrived, cancel: () => done(undefined) };
  }

  /** The node dialed `channel`: its upgrade's answer (404 when nobody waits for that channel). */
  arrive(channel: string): Response {
    const take = this.waiting.get(channel);
    if (!take) return Response.json({ message: "No client waits for this channel" }, { status: 404 });
    const [node, server] = Object.values(new WebSocketPair());
    take(new RelaySide(server, NODE_SIDE_LOST));
    return new Response(null, { status: 101, webSocket: node });
  }

  /**
   * Pairs the node's channel with a new client socket and answers the client's upgrade. A token
   * that expires before the session closes its client with 4002 then (the node does too).
   */
  pair(channel: RelaySide, token: { expiresAt: number; sessionExpiresAt: number }): Response {
    const [client, server] = Object.values(new WebSocketPair());
    const pair: Pair = { client: new RelaySide(server, CLIENT_SIDE_LOST), channel };
    pair.client.onClosed = pair.channel.onClosed = () => this.unpair(pair);
    channel.pairWith(pair.client);
    pair.client.pairWith(channel);
    // JWT times are whole seconds: a token that lasts until the session's end leaves the closing to the session's own end.
    if (token.expiresAt < token.sessionExpiresAt - 1000)
      pair.expiry = setTimeout(() => this.end(pair, CloseCode.tokenExpired), Math.max(0, token.expiresAt - Date.now()));
    this.pairs.add(pair);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** The session ended: every client, and its channel, gets `why`. */
  closeAll(why: CloseReason) {
    for (const pair of [...this.pairs]) this.end(pair, why);
  }

  private end(pair: Pair, why: CloseReason) {
    pair.client.close(why);
    pair.channel.close(why);
  }

  private unpair(pair: Pair) {
    this.pairs.delete(pair);
    if (pair.expiry) clearTimeout(pair.expiry);
  }
}
