/**
 * Just enough WebSocket framing for a relay that never decodes payloads: frame headers read off a
 * byte stream (the one reader of them: the relay's FrameBoundaries here and the CDP log's
 * FrameCapture in artifacts/cdp-tap.ts), so the node can slip its own close frame in between two
 * frames, notice when Chromium itself sent a close frame, and copy what the log keeps.
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
