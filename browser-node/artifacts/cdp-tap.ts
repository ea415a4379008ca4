/**
 * The logging tap on the hot path: `FrameCapture`, for the proxy's relay and a channel alike (both
 * splice frames, proxy/frames.ts). It never delays a byte: it follows WebSocket frame
 * headers in the bytes as they pass (read by the relay's own reader, proxy/frames.ts), copies at
 * most the first `HEAD_BYTES` and the last `TAIL_BYTES` of each text message's payload
 * (unmasking a client's copy), and hands that copy on; decoding and JSON parsing happen later,
 * off the hot path (session-log.ts). A 3 MB screenshot costs a 8 KiB copy here, a small command
 * its own size.
 *
 * Fragmented messages (never sent by Chromium or the CDP clients measured) are not captured.
 */
import { ArtifactLimits } from "../../edge/node-protocol.ts";
import { FrameHeaderReader } from "../proxy/frames.ts";

/** Bytes of a message kept from its start: enough for a whole log body before it is truncated. */
export const HEAD_BYTES = ArtifactLimits.logBodyChars;
/** Bytes kept from a long message's end: where clients put `sessionId`, after the params. */
export const TAIL_BYTES = 256;

/** A captured text message: its start, its end when it was longer than both, and its full length. */
export interface CapturedMessage {
  head: Buffer;
  tail: Buffer | undefined;
  length: number;
}

const OPCODE_TEXT = 0x1;

export class FrameCapture {
  private readonly header = new FrameHeaderReader();
  private inFrame = false;
  private left = 0;
  private offset = 0;
  private length = 0;
  private capturing = false;
  private head: Buffer | undefined;
  private tail: Buffer | undefined;
  private tailStart = 0;

  constructor(private readonly emit: (message: CapturedMessage) => void) {}

  feed(chunk: Buffer, start = 0) {
    let i = start;
    while (i < chunk.length) {
      if (!this.inFrame) {
        i = this.header.read(chunk, i);
        if (!this.header.partial) this.startFrame();
        continue;
      }
      const n = Math.min(this.left, chunk.length - i);
      if (this.capturing) this.capture(chunk, i, n);
      this.left -= n;
      this.offset += n;
      i += n;
      if (this.left === 0) this.endFrame();
    }
  }

  private startFrame() {
    this.length = this.header.payloadLength;
    // A whole (FIN) text frame: a CDP message. Anything else is only followed.
    this.capturing = this.header.fin && this.header.opcode === OPCODE_TEXT;
    this.inFrame = true;
    this.left = this.length;
    this.offset = 0;
    if (this.capturing) {
      const headLen = Math.min(this.length, HEAD_BYTES);
      this.head = Buffer.allocUnsafe(headLen);
      const tailLen = this.length > HEAD_BYTES ? Math.min(TAIL_BYTES, this.length - HEAD_BYTES) : 0;
      this.tail = tailLen > 0 ? Buffer.allocUnsafe(tailLen) : undefined;
      this.tailStart = this.length - tailLen;
    }
    if (this.length === 0) this.endFrame();
  }

  /** Copies the part of chunk[i, i+n) (payload offsets [offset, offset+n)) that falls in the head or tail. */
  private capture(chunk: Buffer, i: number, n: number) {
    const from = this.offset;
    const to = from + n;
    const head = this.head!;
    if (from < head.length) this.copyOut(chunk, i, from, Math.min(to, head.length), head, 0);
    if (this.tail && to > this.tailStart) this.copyOut(chunk, i, Math.max(from, this.tailStart), to, this.tail, this.tailStart);
  }

  private copyOut(chunk: Buffer, i: number, from: number, to: number, into: Buffer, intoBase: number) {
    const src = i + (from - this.offset);
    chunk.copy(into, from - intoBase, src, src + (to - from));
    if (!this.header.masked) return;
    const mask = this.header.mask;
    for (let o = from; o < to; o++) into[o - intoBase] ^= mask[o & 3];
  }

  private endFrame() {
    this.inFrame = false;
    if (!this.capturing) return;
    this.capturing = false;
    const message = { head: this.head!, tail: this.tail, length: this.length };
    this.head = this.tail = undefined;
    this.emit(message);
  }
}
