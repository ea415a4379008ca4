/**
 * One CDP client through the edge (docs/node-link.md): a WebSocket to Chromium's endpoint and one
 * to the edge's channel path, both dialed by the node as a client, then spliced frame for frame on
 * the raw sockets. Both peers are servers, so what arrives is unmasked and what leaves must be
 * masked; masked with the zero key, a frame's payload is the same bytes, so only each header is
 * rewritten and payloads stream through chunk by chunk, never gathered, decoded or compressed
 * (no permessage-deflate either way). Text stays text and binary stays binary. The zero key is
 * safe here: masking keeps a page's script from choosing the bytes an intermediary sees (RFC 6455
 * 10.3), and the node is no page; its peers are Chromium on loopback and the edge over TLS, both
 * servers that unmask with whatever key a frame carries. For the session it is a client like a
 * proxied one (proxy/relay.ts): counted, closed with the ending's code and reason, and a Chromium
 * that drops without a close frame is asked about (crash or node error) the same way.
 */
import { createHash, randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import type { RelayTap } from "../artifacts/session-log.ts";
import { NodeError } from "../node-error.ts";
import type { CdpClient } from "../proxy/clients.ts";
import { closeFrame, FrameSplice, maskedFrame } from "../proxy/frames.ts";
import type { CloseReason } from "../../edge/node-protocol.ts";
import { openUpstream, UpstreamRefused, type UpstreamConnection } from "../proxy/upstream.ts";

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long the edge's side may take to answer our close frame before its socket is dropped. */
const CLOSE_ANSWER_MS = 1000;
/** Bytes handed to Chromium and not yet written out before the edge stops being read. */
const HIGH_WATER = 8 * 1024 * 1024;
/** Codes a close frame may carry (RFC 6455 7.4; 1005 and 1006 are never sent). */
const sendable = (code: number) => (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
const OPCODE_CLOSE = 0x8;
const NO_CODE = Buffer.alloc(0);

export interface ChannelOptions {
  debugPort: number;
  /** Chromium's path for the client (`/devtools/browser/<id>` or `/devtools/page/<id>`). */
  chromiumPath: string;
  /** `ws(s)://<edge>/internal/nodes/<session>/cdp/<channel>`. */
  edgeUrl: URL;
  nodeToken: string;
  /** Which close the client sees when Chromium's side drops without a close frame. */
  onUpstreamLost: () => Promise<CloseReason>;
  /** The session log's tap (logging on): it sees every byte as it passes, as in proxy/relay.ts. */
  tap?: RelayTap;
}

/** Chromium's socket once upgraded, with what it said before the edge's side was open too (copies). */
type BrowserSide = { connection: UpstreamConnection; held: Buffer[] };
/** The edge's socket once upgraded, and the bytes that came behind its answer. */
type EdgeSide = { socket: Socket; early: Buffer };

const newKey = () => randomBytes(16).toString("base64");

/** Chromium's side (proxy/upstream.ts, its reusable read buffer included); a refusal becomes the NodeError the `open` call answers. */
async function dialChromium(port: number, path: string): Promise<BrowserSide> {
  const refused = (status: number) =>
    // Chromium answers an unknown target with 500 "No such target id" (measured on 156).
    status === 404 || status === 500
      ? new NodeError("error", "no such target", { status: 404 })
      : new NodeError("error", `the browser refused the connection${status ? ` (HTTP ${status})` : ""}`, { status: 502 });
  // Chromium's 101 is taken as proxy/upstream.ts takes it: it answered our own request, on loopback.
  const connection = await openUpstream(port, path, newKey()).catch((err: unknown) => {
    throw refused(err instanceof UpstreamRefused ? err.status : 0);
  });
  // Still in the microtasks of the read that brought the answer: no later chunk has been read yet.
  const held = connection.early.length ? [connection.early] : [];
  connection.onChunk = (chunk) => {
    held.push(Buffer.from(chunk)); // a copy: the read buffer is reused
    return true;
  };
  return { connection, held };
}

/** The edge's side, with the node token; anything but a WebSocket for our key is a refusal (502). */
function dialEdge(url: URL, nodeToken: string): Promise<EdgeSide> {
  const key = newKey();
  const target = new URL(url);
  target.protocol = url.protocol === "wss:" ? "https:" : "http:";
  const refused = (status: number) => new NodeError("error", `the edge refused the channel${status ? ` (HTTP ${status})` : ""}`, { status: 502 });
  return new Promise((resolve, reject) => {
    const req = (target.protocol === "https:" ? httpsRequest : httpRequest)(target, {
      agent: false,
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": key, authorization: `Bearer ${nodeToken}` },
    });
    const timer = setTimeout(() => req.destroy(new Error("the edge did not answer the upgrade")), HANDSHAKE_TIMEOUT_MS);
    req.once("upgrade", (res, socket: Socket, early: Buffer) => {
      clearTimeout(timer);
      socket.on("error", () => {});
      // Only a WebSocket for our key, with no extension (none was offered). Until the channel
      // listens, what the edge says waits in the socket, which is not flowing yet.
      const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      if (res.headers["sec-websocket-accept"] === accept && !res.headers["sec-websocket-extensions"]) return resolve({ socket, early });
      socket.destroy();
      reject(refused(0));
    });
    req.once("response", (res) => {
      clearTimeout(timer);
      res.resume();
      reject(refused(res.statusCode ?? 0));
    });
    req.once("error", () => {
      clearTimeout(timer);
      reject(refused(0));
    });
    req.end();
  });
}

/** Writes a chunk's pieces (new headers, payload views) as one write to the kernel. */
function send(socket: Socket, pieces: Buffer[], flushed?: () => void) {
  const last = pieces.length - 1;
  if (last > 0) socket.cork();
  for (let i = 0; i < last; i++) socket.write(pieces[i]);
  socket.write(pieces[last], flushed);
  if (last > 0) socket.uncork();
}

export class Channel implements CdpClient {
  /** The client's frames, from the edge to Chromium. */
  private readonly up = new FrameSplice();
  /** Chromium's frames, to the edge. */
  private readonly down = new FrameSplice();
  private readonly browser: Socket;
  private readonly edge: Socket;
  private closing = false;
  /** The close frame's payload the edge is owed: sent between two of Chromium's frames. */
  private owedClose: Buffer | undefined;
  private closeSent = false;
  private edgeSaidClose = false;
  private finished = false;
  private readingPaused = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private resolveDone!: () => void;
  readonly closed = new Promise<void>((r) => (this.resolveDone = r));

  /**
   * Chromium and the edge at once: a client's connect waits for both, and neither needs the other.
   * Chromium's refusal wins over the edge's (it says whether the target exists); a side that opened
   * when the other did not is dropped (the edge hears of it as a channel gone, and has the reply).
   */
  static async open(o: ChannelOptions): Promise<Channel> {
    const [browser, edge] = await Promise.allSettled([dialChromium(o.debugPort, o.chromiumPath), dialEdge(o.edgeUrl, o.nodeToken)]);
    if (browser.status === "rejected" || edge.status === "rejected") {
      if (browser.status === "fulfilled") browser.value.connection.socket.destroy();
      if (edge.status === "fulfilled") edge.value.socket.destroy();
      throw browser.status === "rejected" ? browser.reason : (edge as PromiseRejectedResult).reason;
    }
    return new Channel(browser.value, edge.value, o.onUpstreamLost, o.tap);
  }

  private constructor(
    browser: BrowserSide,
    edge: EdgeSide,
    private readonly onUpstreamLost: () => Promise<CloseReason>,
    private readonly tap?: RelayTap,
  ) {
    this.browser = browser.connection.socket;
    this.edge = edge.socket;
    this.edge.setNoDelay(true);
    this.browser.on("error", () => {});
    this.browser.on("close", () => this.browserGone());
    this.browser.on("drain", () => this.edge.resume());
    // An edge that ends its side is done talking (or has answered our close frame).
    this.edge.on("end", () => this.edge.destroy());
    this.edge.on("close", () => this.finish());
    // What either side said while the other was dialed goes first, in order.
    if (edge.early.length) this.fromEdge(edge.early);
    for (const chunk of browser.held) this.fromBrowser(chunk);
    browser.connection.onChunk = this.fromBrowser;
    this.edge.on("data", this.fromEdge);
    // A side went while the other was dialed: the edge's, the channel is over; Chromium's, the client hears why at once.
    if (this.edge.closed) this.finish();
    else if (this.browser.closed) this.browserGone();
  }

  private readonly fromEdge = (chunk: Buffer) => {
    const relaying = !this.closing && !this.browser.destroyed;
    if (relaying) this.tap?.fromClient(chunk);
    const out: Buffer[] = [];
    if (!this.up.splice(chunk, out)) return void this.edge.destroy(); // a masked frame from a server: the edge's side is broken
    if (relaying && out.length > 0) {
      send(this.browser, out);
      if (this.browser.writableLength > HIGH_WATER) this.edge.pause();
    }
    if (this.up.closePayload) this.edgeClosing(this.up.closePayload);
  };

  /** Chromium's chunk, in its reusable read buffer: false stops reading until the edge took it (see writeView). */
  private readonly fromBrowser = (chunk: Buffer): boolean => {
    const out: Buffer[] = [];
    if (this.closing) {
      // Only the rest of the frame under way still goes to the edge, then its close frame.
      if (this.closeSent) return false;
      const end = this.down.finishFrame(chunk, out);
      this.tap?.fromBrowser(chunk.subarray(0, end));
      const reading = this.writeView(out);
      if (!this.down.midFrame) this.sendClose();
      return reading;
    }
    this.tap?.fromBrowser(chunk);
    const intact = this.down.splice(chunk, out);
    const reading = this.writeView(out);
    // A masked frame from a server: Chromium's side is broken, and asked about as if it dropped.
    if (!intact) this.browser.destroy();
    else if (this.down.closePayload) this.browserClosing(this.down.closePayload);
    return reading;
  };

  /**
   * Writes pieces that may view Chromium's read buffer. Almost always the kernel takes them at
   * once; if not, reading stops (false) until they are flushed, so the buffer is not overwritten
   * under a pending write. That is also this direction's backpressure.
   */
  private writeView(out: Buffer[]): boolean {
    if (out.length === 0 || this.edge.destroyed) return true;
    send(this.edge, out, this.viewFlushed);
    if (this.edge.writableLength === 0) return true;
    this.readingPaused = true;
    return false;
  }

  private readonly viewFlushed = () => {
    // A later write may still view the buffer (one of a held chunk's came first): its own callback resumes.
    if (!this.readingPaused || this.edge.writableLength > 0) return;
    this.readingPaused = false;
    this.browser.resume();
  };

  /** Ends this client's conversation with a close frame carrying `why`. */
  close(why: CloseReason): Promise<void> {
    if (this.closing || this.finished) return this.closed;
    this.owe(sendable(why.code) ? closeFrame(why.code, why.reason).subarray(2) : NO_CODE);
    return this.closed;
  }

  /** Chromium closed properly: the client gets its code and reason. */
  private browserClosing(payload: Buffer) {
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    this.owe(sendable(code) ? payload : NO_CODE);
  }

  /** The edge closes (or answers ours): answered with its own code and reason (RFC 6455 5.5.1), then done. */
  private edgeClosing(payload: Buffer) {
    if (this.edgeSaidClose) return;
    this.edgeSaidClose = true;
    if (this.closeSent) this.edge.end();
    else if (!this.closing) this.owe(payload);
  }

  /** Sends the edge a close frame at once between two of Chromium's frames, else once the one under way is through. */
  private owe(payload: Buffer) {
    this.closing = true;
    this.owedClose = payload;
    if (!this.down.midFrame) this.sendClose();
    // The other side answers with its own close frame; one that does not is dropped.
    this.closeTimer = setTimeout(() => this.edge.destroy(), CLOSE_ANSWER_MS);
    this.closeTimer.unref();
  }

  private sendClose() {
    this.closeSent = true;
    this.browser.destroy(); // nothing more of Chromium's can go to the edge
    if (this.edge.destroyed) return;
    this.edge.write(maskedFrame(0x80 | OPCODE_CLOSE, this.owedClose!));
    if (this.edgeSaidClose) this.edge.end();
  }

  private browserGone() {
    if (this.finished || this.closeSent) return;
    // Cut mid-frame (also while the close it was finishing waits): no valid close frame can follow.
    if (this.down.midFrame) return void this.edge.destroy();
    if (this.closing) return;
    // Dropped without a close frame: a crash if the browser is dying (the session decides).
    void this.onUpstreamLost().then((why) => this.close(why));
  }

  private finish() {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.closeTimer);
    this.tap?.end();
    this.browser.destroy();
    this.resolveDone();
  }
}
