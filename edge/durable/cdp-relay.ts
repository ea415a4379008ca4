/**
 * A session's CDP clients through the edge. For each client the node opens a channel (`open` on
 * the link, then a WebSocket to `nodeChannelPath`); the object answers the node's upgrade with one
 * end of a WebSocketPair and the client's upgrade with the other. The runtime then pumps frames
 * between the two connections itself: no JavaScript runs per message, nothing is parsed,
 * re-encoded or compressed, text stays text, binary stays binary, and a close frame passes with its
 * code and reason. (With a relay in JavaScript, a round trip through the edge took 1.84–1.89× one
 * straight to Chromium; joined, 1.46–1.60×: bench/cdp-edge, README.)
 *
 * So closing a client is the node's part, as its proxy's is in direct mode: it closes each channel
 * with the ending's code and reason, and with 4002 when the client's token expires. A node that
 * dies outright drops its channels, and with them their clients.
 */
import type { CloseReason } from "../node-protocol.ts";
import { closeQuietly } from "./node-link.ts";

export interface ExpectedChannel {
  channel: string;
  /** The edge's end of the node's socket, or undefined once `timeoutMs` passed (or cancelled). */
  arrived: Promise<ChannelEnd | undefined>;
  cancel(): void;
}

/** The far end of a node's channel: handed to a client's upgrade, or refused. */
export class ChannelEnd {
  private taken = false;
  constructor(private readonly ws: WebSocket) {}

  /** The client's upgrade answer: its connection and the node's are joined from now on. */
  joinClient(): Response {
    this.taken = true;
    return new Response(null, { status: 101, webSocket: this.ws });
  }

  /** No client for it after all: the node's channel is closed with `why`. */
  refuse(why: CloseReason) {
    if (this.taken) return;
    this.taken = true;
    this.ws.accept();
    closeQuietly(this.ws, why.code, why.reason);
  }
}

export class CdpRelay {
  private readonly waiting = new Map<string, (end: ChannelEnd | undefined) => void>();

  /** A fresh channel id, to be sent in `open`, and the wait for the node's socket on it. */
  expect(timeoutMs: number): ExpectedChannel {
    const channel = crypto.randomUUID();
    let settle!: (end: ChannelEnd | undefined) => void;
    const arrived = new Promise<ChannelEnd | undefined>((resolve) => (settle = resolve));
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (end: ChannelEnd | undefined) => {
      clearTimeout(timer);
      this.waiting.delete(channel);
      settle(end);
    };
    this.waiting.set(channel, done);
    return { channel, arrived, cancel: () => done(undefined) };
  }

  /** The node dialed `channel`: its upgrade's answer (404 when nobody waits for that channel). */
  arrive(channel: string): Response {
    const take = this.waiting.get(channel);
    if (!take) return Response.json({ message: "No client waits for this channel" }, { status: 404 });
    const [node, far] = Object.values(new WebSocketPair());
    take(new ChannelEnd(far));
    return new Response(null, { status: 101, webSocket: node });
  }
}
