/**
 * One CDP client through the edge (docs/node-link.md): a WebSocket to Chromium's endpoint and one
 * to the edge's channel path, relayed message for message. Text stays text and binary stays
 * binary; nothing is parsed, re-encoded or compressed (no permessage-deflate either way, no UTF-8
 * validation, no masking work). For the session it is a client like a proxied one (proxy/relay.ts):
 * counted, closed with the ending's code and reason, and a Chromium that drops without a close
 * frame is asked about (crash or node error) the same way.
 */
import WebSocket from "ws";
import type { MessageTap } from "../artifacts/session-log.ts";
import { NodeError } from "../node-error.ts";
import type { CdpClient } from "../proxy/clients.ts";
import type { CloseReason } from "../proxy/relay.ts";

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long the edge's side may take to answer our close frame before its socket is dropped. */
const CLOSE_ANSWER_MS = 1000;
/** Bytes handed to one side and not yet written out before the other side stops being read. */
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
/** Codes a close frame may carry (RFC 6455 7.4; 1005 and 1006 are never sent). */
const sendable = (code: number) => (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);

export interface ChannelOptions {
  debugPort: number;
  /** Chromium's path for the client (`/devtools/browser/<id>` or `/devtools/page/<id>`). */
  chromiumPath: string;
  /** `ws(s)://<edge>/internal/nodes/<session>/cdp/<channel>`. */
  edgeUrl: URL;
  nodeToken: string;
  /** Which close the client sees when Chromium's side drops without a close frame. */
  onUpstreamLost: () => Promise<CloseReason>;
  tap?: MessageTap;
}

/**
 * The masking key of every frame the node sends on a channel: zero, which `ws` then sends as it
 * came, with no copy and no XOR (a full-HD screenshot is MBs, relayed twice per round trip). Masking
 * keeps a page's script from choosing the bytes an intermediary on the wire sees (RFC 6455 10.3);
 * the node is no page, and its peers are Chromium on loopback and the edge over TLS, both servers
 * that unmask with whatever key a frame carries.
 */
const zeroMask = (mask: Buffer) => mask.fill(0);

/** Opens a WebSocket; a refusal becomes a NodeError with the status the `open` call answers. */
function connect(url: URL | string, options: WebSocket.ClientOptions, refused: (status: number) => NodeError): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 0, generateMask: zeroMask, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, ...options });
  ws.on("error", () => {});
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      reject(refused(res.statusCode ?? 0));
      ws.terminate();
    });
    ws.once("close", () => reject(refused(0)));
  });
}

/** Holds what an opened socket says until the relay listens (`release`), then hands it on (`replay`). */
function holdMessages(socket: WebSocket) {
  const held: Array<[Buffer, boolean]> = [];
  const hold = (data: Buffer, isBinary: boolean) => held.push([data, isBinary]);
  socket.on("message", hold);
  return {
    socket,
    release: () => socket.off("message", hold),
    replay: () => {
      for (const [data, isBinary] of held) socket.emit("message", data, isBinary);
    },
  };
}

export class Channel implements CdpClient {
  private closing: CloseReason | undefined;
  private finished = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private resolveDone!: () => void;
  readonly closed = new Promise<void>((r) => (this.resolveDone = r));

  /**
   * Chromium and the edge at once: a client's connect waits for both, and neither needs the other.
   * Chromium's refusal wins over the edge's (it says whether the target exists); a side that opened
   * when the other did not is dropped (the edge hears of it as a channel gone, and has the reply).
   */
  static async open(o: ChannelOptions): Promise<Channel> {
    // Chromium answers an unknown target with 500 "No such target id" (measured on 156).
    const dialing = [
      connect(`ws://127.0.0.1:${o.debugPort}${o.chromiumPath}`, {}, (status) =>
        status === 404 || status === 500
          ? new NodeError("error", "no such target", { status: 404 })
          : new NodeError("error", `the browser refused the connection${status ? ` (HTTP ${status})` : ""}`, { status: 502 }),
      ),
      connect(o.edgeUrl, { headers: { authorization: `Bearer ${o.nodeToken}` } }, (status) =>
        new NodeError("error", `the edge refused the channel${status ? ` (HTTP ${status})` : ""}`, { status: 502 }),
      ),
    ];
    // Whatever one side says while the other is dialed waits (neither says anything unasked today).
    const early = dialing.map((socket) => socket.then(holdMessages));
    const [browser, edge] = await Promise.allSettled(early);
    if (browser.status === "rejected" || edge.status === "rejected") {
      if (browser.status === "fulfilled") browser.value.socket.terminate();
      if (edge.status === "fulfilled") edge.value.socket.terminate();
      throw browser.status === "rejected" ? browser.reason : (edge as PromiseRejectedResult).reason;
    }
    browser.value.release();
    edge.value.release();
    const channel = new Channel(browser.value.socket, edge.value.socket, o.onUpstreamLost, o.tap);
    browser.value.replay();
    edge.value.replay();
    return channel;
  }

  private constructor(
    private readonly browser: WebSocket,
    private readonly edge: WebSocket,
    private readonly onUpstreamLost: () => Promise<CloseReason>,
    private readonly tap?: MessageTap,
  ) {
    this.relay(edge, browser, tap && ((data, binary) => tap.fromClient(data, binary)));
    this.relay(browser, edge, tap && ((data, binary) => tap.fromBrowser(data, binary)));
    edge.once("close", () => this.finish());
    browser.once("close", (code, reason) => this.browserClosed(code, reason));
    // A side went while the other was dialed: the edge's, the channel is over; Chromium's, the client hears why at once.
    if (edge.readyState === WebSocket.CLOSED) this.finish();
    else if (browser.readyState !== WebSocket.OPEN) this.browserClosed(1006, Buffer.alloc(0));
  }

  /** Forwards every message of `from` to `to` as it came; `from` pauses while `to` has too much unwritten. */
  private relay(from: WebSocket, to: WebSocket, tap?: (data: Buffer, binary: boolean) => void) {
    let unwritten = 0;
    const written = (bytes: number) => () => {
      unwritten -= bytes;
      if (unwritten <= LOW_WATER && from.isPaused) from.resume();
    };
    from.on("message", (data: Buffer, isBinary) => {
      if (this.closing || this.finished || to.readyState !== WebSocket.OPEN) return; // the conversation is over
      tap?.(data, isBinary);
      unwritten += data.length;
      to.send(data, { binary: isBinary }, written(data.length));
      if (unwritten > HIGH_WATER && !from.isPaused) from.pause();
    });
  }

  /** Ends this client's conversation with a close frame carrying `why`. */
  close(why: CloseReason): Promise<void> {
    if (this.closing || this.finished) return this.closed;
    this.closing = why;
    this.browser.terminate();
    if (this.edge.readyState === WebSocket.OPEN) this.edge.close(why.code, why.reason);
    // The other side answers with its own close frame; one that does not is dropped.
    this.closeTimer = setTimeout(() => this.edge.terminate(), CLOSE_ANSWER_MS);
    this.closeTimer.unref();
    return this.closed;
  }

  private browserClosed(code: number, reason: Buffer) {
    if (this.closing || this.finished) return;
    if (code === 1006) {
      // Dropped without a close frame: a crash if the browser is dying (the session decides).
      void this.onUpstreamLost().then((why) => this.close(why));
      return;
    }
    // Chromium closed properly: the client gets its code and reason.
    this.closing = { code, reason: String(reason) };
    if (this.edge.readyState === WebSocket.OPEN) {
      if (sendable(code)) this.edge.close(code, reason);
      else this.edge.close();
    }
    this.closeTimer = setTimeout(() => this.edge.terminate(), CLOSE_ANSWER_MS);
    this.closeTimer.unref();
  }

  private finish() {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.closeTimer);
    this.tap?.end();
    this.browser.terminate();
    this.resolveDone();
  }
}
