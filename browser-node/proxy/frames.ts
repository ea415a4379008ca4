/**
 * Just enough WebSocket framing for a relay that never decodes payloads: frame headers read off a
 * byte stream (the one reader of them: the relay's FrameBoundaries and a channel's FrameSplice
 * here, the CDP log's FrameCapture in artifacts/cdp-tap.ts), so the node can slip its own close
 * frame in between two frames, notice when Chromium itself sent a close frame, re-send a server's
 * frames as a client's, and copy what the log keeps.
 */

const OPCODE_CLOSE = 0x8;
/** The longest header: 2 bytes, a 64-bit payload length, a 4-byte masking key. */
const MAX_HEADER_BYTES = 14;

/** A server-to-client close frame (servers never mask). The reason is cut to fit 125 bytes. */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, "utf8").subarray(0, 123);
  const frame = Buffer.allocUnsafe(4 + text.length);
  frame[0] = 0x80 | OPCODE_CLOSE;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}

/**
 * Frame headers read off a byte stream one at a time, each whole in one read (nearly always, and
 * then read in place) or split across reads. Once `read` leaves no header `partial`, the fields
 * describe the frame whose payload starts where it returned.
 */
export class FrameHeaderReader {
  fin = false;
  opcode = 0;
  payloadLength = 0;
  masked = false;
  /** The masking key of a masked (client's) frame; valid until the next header is read. */
  readonly mask = Buffer.alloc(4);
  /** A header split across reads is gathered here. */
  private readonly gathered = Buffer.alloc(MAX_HEADER_BYTES);
  private have = 0;

  /** Some of a header's bytes have been read, the rest are still to come. */
  get partial(): boolean {
    return this.have > 0;
  }

  /** Reads a header from `chunk` at `at`: returns where its payload starts, or chunk's end with the header still `partial`. */
  read(chunk: Buffer, at: number): number {
    if (this.have === 0) {
      const size = headerSize(chunk, at, chunk.length - at);
      if (size > 0) {
        this.parse(chunk, at, size);
        return at + size;
      }
    }
    while (at < chunk.length) {
      this.gathered[this.have++] = chunk[at++];
      const size = headerSize(this.gathered, 0, this.have);
      if (size > 0) {
        this.have = 0;
        this.parse(this.gathered, 0, size);
        break;
      }
    }
    return at;
  }

  private parse(buf: Buffer, at: number, size: number) {
    this.fin = (buf[at] & 0x80) !== 0;
    this.opcode = buf[at] & 0x0f;
    this.masked = (buf[at + 1] & 0x80) !== 0;
    const len7 = buf[at + 1] & 0x7f;
    this.payloadLength = len7 < 126 ? len7 : len7 === 126 ? buf.readUInt16BE(at + 2) : buf.readUInt32BE(at + 2) * 2 ** 32 + buf.readUInt32BE(at + 6);
    if (this.masked) buf.copy(this.mask, 0, at + size - 4, at + size);
  }
}

/** Size of the header starting at `at` when `have` bytes of it are known, else 0 (need more). */
function headerSize(buf: Buffer, at: number, have: number): number {
  if (have < 2) return 0;
  const len7 = buf[at + 1] & 0x7f;
  const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (buf[at + 1] & 0x80 ? 4 : 0);
  return have >= size ? size : 0;
}

export class FrameBoundaries {
  /** Payload bytes of the current frame still to come. */
  private payloadLeft = 0;
  private readonly header = new FrameHeaderReader();
  /** Chromium sent a close frame: the client has its close, it needs no other. */
  closeSeen = false;

  atBoundary() {
    return this.payloadLeft === 0 && !this.header.partial;
  }

  /**
   * Follows `chunk` from `start`. With `stopAtBoundary` it stops at the first frame boundary and
   * returns where (start itself if already at one); otherwise it consumes the whole chunk.
   */
  advance(chunk: Buffer, start = 0, stopAtBoundary = false): number {
    let i = start;
    const end = chunk.length;
    while (i < end) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, end - i);
        this.payloadLeft -= n;
        i += n;
        if (stopAtBoundary && this.payloadLeft === 0) return i;
        continue;
      }
      if (stopAtBoundary && !this.header.partial) return i;
      i = this.header.read(chunk, i);
      if (this.header.partial) continue;
      if (this.header.opcode === OPCODE_CLOSE) this.closeSeen = true;
      this.payloadLeft = this.header.payloadLength;
      if (stopAtBoundary && this.atBoundary()) return i;
    }
    return i;
  }
}

/**
 * A client's header for a frame whose first byte (FIN, RSV, opcode) a server sent: masked, with the
 * zero key, so the payload behind it goes out as the server sent it (RFC 6455 5.3).
 */
export function maskedHeader(first: number, payloadLength: number): Buffer {
  const extended = payloadLength < 126 ? 0 : payloadLength < 65536 ? 2 : 8;
  const header = Buffer.alloc(6 + extended); // the key's four zero bytes included
  header[0] = first;
  header[1] = 0x80 | (extended === 0 ? payloadLength : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(payloadLength, 2);
  if (extended === 8) {
    header.writeUInt32BE(Math.floor(payloadLength / 2 ** 32), 2);
    header.writeUInt32BE(payloadLength >>> 0, 6);
  }
  return header;
}

/** A whole client's frame (a control frame's few bytes), masked with the zero key. */
export const maskedFrame = (first: number, payload: Buffer) => Buffer.concat([maskedHeader(first, payload.length), payload]);

/**
 * One direction of a splice between two servers (a channel, link/channel.ts): a server's frames
 * re-sent as a client's. Each data frame gets a new header and its payload passes as views of the
 * chunks it came in, however many; control frames (at most 125 bytes) are gathered whole, pings
 * and pongs re-sent, a close frame kept for its reader (nothing after it is read).
 */
export class FrameSplice {
  private readonly header = new FrameHeaderReader();
  /** The current frame's first byte, passed on as it came. */
  private first = 0;
  private payloadLeft = 0;
  /** The control frame whose payload is being gathered. */
  private control: Buffer | undefined;
  /** The payload of the close frame the server sent (code and reason, or none). */
  closePayload: Buffer | undefined;

  /** Part of a data frame has gone out and the rest has not: nothing else may go in between. */
  get midFrame(): boolean {
    return this.payloadLeft > 0 && this.control === undefined;
  }

  /** Re-frames chunk from `at` into `out` (new headers, payload views); false on a frame no server sends. */
  splice(chunk: Buffer, out: Buffer[], at = 0): boolean {
    while (at < chunk.length && !this.closePayload) {
      if (this.payloadLeft > 0) {
        at = this.payload(chunk, at, out);
        continue;
      }
      if (!this.header.partial) this.first = chunk[at];
      at = this.header.read(chunk, at);
      if (this.header.partial) break;
      const { payloadLength, masked, fin } = this.header;
      const isControl = (this.first & 0x08) !== 0;
      if (masked || (isControl && (payloadLength > 125 || !fin))) return false;
      if (isControl) this.control = Buffer.allocUnsafe(payloadLength);
      else out.push(maskedHeader(this.first, payloadLength));
      this.payloadLeft = payloadLength;
      if (payloadLength === 0) this.frameDone(out);
    }
    return true;
  }

  /** Only the rest of the data frame under way (if any): returns where it ends in chunk. */
  finishFrame(chunk: Buffer, out: Buffer[]): number {
    return this.midFrame ? this.payload(chunk, 0, out) : 0;
  }

  private payload(chunk: Buffer, at: number, out: Buffer[]): number {
    const n = Math.min(this.payloadLeft, chunk.length - at);
    if (this.control) chunk.copy(this.control, this.control.length - this.payloadLeft, at, at + n);
    else out.push(chunk.subarray(at, at + n));
    this.payloadLeft -= n;
    if (this.payloadLeft === 0) this.frameDone(out);
    return at + n;
  }

  private frameDone(out: Buffer[]) {
    const control = this.control;
    if (!control) return;
    this.control = undefined;
    if ((this.first & 0x0f) === OPCODE_CLOSE) this.closePayload = control;
    else out.push(maskedFrame(this.first, control));
  }
}
