/**
 * One client's WebSocket, spliced to Chromium after both handshakes. Bytes pass untouched in both
 * directions (no decoding, no re-encoding, no UTF-8 validation); only Chromium's frame headers are
 * followed so the node can end the conversation with a proper close frame.
 */
import type { Socket } from "node:net";
import type { RelayTap } from "../artifacts/session-log.ts";
import type { CdpClient } from "./clients.ts";
import { closeFrame, FrameBoundaries } from "./frames.ts";
import type { UpstreamConnection } from "./upstream.ts";
import type { CloseReason } from "../../edge/node-protocol.ts";

/** How long a client may take to answer our close frame before its socket is destroyed. */
const CLOSE_ANSWER_MS = 1000;

export class Relay implements CdpClient {
  private readonly frames = new FrameBoundaries();
  private closing: CloseReason | undefined;
  private finished = false;
  private readingPaused = false;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly upstream: Socket;

  constructor(
    readonly client: Socket,
    connection: UpstreamConnection,
    /**
     * Asked when Chromium's side drops without a close frame: which close the client should see
     * (it can wait for the browser's exit to tell a crash).
     */
    private readonly onUpstreamLost: () => Promise<CloseReason>,
    /** The session log's tap, when logging is on: it sees every byte, synchronously, and copies what it keeps. */
    private readonly tap?: RelayTap,
  ) {
    const upstream = (this.upstream = connection.socket);
    this.done = new Promise((r) => (this.resolveDone = r));
    client.setNoDelay(true);
    client.setTimeout(0);
    client.setKeepAlive(true, 30_000);

    const forward = (chunk: Buffer) => {
      if (this.closing) return; // the conversation is over; nothing more goes to Chromium
      if (!upstream.write(chunk)) client.pause();
    };
    upstream.on("drain", () => client.resume());

    // Without a tap the handlers are the bare ones: logging off adds no work at all.
    if (tap) {
      client.on("data", (chunk: Buffer) => {
        tap.fromClient(chunk);
        forward(chunk);
      });
      connection.onChunk = (chunk) => {
        tap.fromBrowser(chunk);
        return this.toClient(chunk);
      };
    } else {
      client.on("data", forward);
      connection.onChunk = (chunk) => this.toClient(chunk);
    }

    client.on("error", () => {});
    upstream.on("error", () => {});
    client.on("close", () => this.finish());
    // A client that ends its side is done talking (or has answered our close frame).
    client.on("end", () => client.destroy());
    upstream.on("close", () => this.upstreamClosed());
  }

  /** Bytes each side sent right behind its handshake, before the splice took over. */
  start(clientHead: Buffer, upstreamHead: Buffer) {
    if (this.tap) {
      this.tap.fromClient(clientHead);
      this.tap.fromBrowser(upstreamHead);
    }
    if (clientHead.length) this.upstream.write(clientHead);
    if (upstreamHead.length) {
      this.frames.advance(upstreamHead);
      this.client.write(upstreamHead); // a stable copy, not a view into the read buffer
    }
  }

  private toClient(chunk: Buffer): boolean {
    if (this.closing) return this.forwardUntilBoundary(chunk);
    this.frames.advance(chunk);
    return this.writeView(chunk);
  }

  /**
   * Writes a chunk that lives in the upstream's reusable read buffer. Almost always the kernel
   * takes it at once; if not, reading stops (false) until the write is flushed, so the buffer is
   * not overwritten under a pending write. That is also the relay's backpressure.
   */
  private writeView(view: Buffer): boolean {
    this.client.write(view, this.viewFlushed);
    if (this.client.writableLength === 0) return true;
    this.readingPaused = true;
    return false;
  }

  private readonly viewFlushed = () => {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    this.upstream.resume();
  };

  /** Settles once the client's socket is closed. */
  get closed() {
    return this.done;
  }

  /** Ends this client's conversation with a close frame, at the next frame boundary. */
  close(why: CloseReason): Promise<void> {
    if (this.closing || this.finished) return this.done;
    this.closing = why;
    if (this.frames.closeSeen) {
      this.client.end();
    } else if (this.frames.atBoundary()) {
      this.sendClose();
    } else {
      // Mid-frame: Chromium's next bytes finish the frame (forwardUntilBoundary), then we close.
      setTimeout(() => this.client.destroy(), CLOSE_ANSWER_MS).unref();
    }
    return this.done;
  }

  private forwardUntilBoundary(chunk: Buffer): boolean {
    if (this.frames.atBoundary()) return false;
    const upTo = this.frames.advance(chunk, 0, true);
    const reading = this.writeView(chunk.subarray(0, upTo));
    if (this.frames.atBoundary()) this.sendClose();
    return reading;
  }

  private sendClose() {
    this.upstream.destroy();
    if (this.client.destroyed) return;
    this.client.write(closeFrame(this.closing!.code, this.closing!.reason));
    // The client answers with its own close frame and ends its side; then we are done.
    setTimeout(() => this.client.destroy(), CLOSE_ANSWER_MS).unref();
  }

  private upstreamClosed() {
    if (this.closing || this.finished) return;
    if (this.frames.closeSeen) {
      this.client.end(); // Chromium closed properly; the client already has its close frame
      return;
    }
    if (!this.frames.atBoundary()) {
      this.client.destroy(); // cut mid-frame: no valid close frame can follow
      return;
    }
    void this.onUpstreamLost().then((why) => this.close(why));
  }

  private finish() {
    if (this.finished) return;
    this.finished = true;
    this.tap?.end();
    this.upstream.destroy();
    this.resolveDone();
  }
}
