/**
 * Just enough WebSocket framing for a relay that never decodes payloads: it follows frame
 * boundaries in Chromium's byte stream (reading headers only), so the node can slip its own close
 * frame in between two frames, and it notices when Chromium itself sent a close frame.
 */

const OPCODE_CLOSE = 0x8;

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

export class FrameBoundaries {
  /** Payload bytes of the current frame still to come. */
  private payloadLeft = 0;
  /** A header split across reads is gathered here. */
  private readonly header = Buffer.alloc(14);
  private headerHave = 0;
  /** Chromium sent a close frame: the client has its close, it needs no other. */
  closeSeen = false;

  atBoundary() {
    return this.payloadLeft === 0 && this.headerHave === 0;
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
      if (stopAtBoundary && this.headerHave === 0) return i;
      i = this.readHeader(chunk, i);
      if (stopAtBoundary && this.atBoundary()) return i;
    }
    return i;
  }

  private readHeader(chunk: Buffer, i: number): number {
    // Fast path: the whole header lies in this chunk (nearly always).
    if (this.headerHave === 0) {
      const size = headerSize(chunk, i, chunk.length - i);
      if (size > 0) {
        this.startFrame(chunk, i);
        return i + size;
      }
    }
    while (i < chunk.length) {
      this.header[this.headerHave++] = chunk[i++];
      const size = headerSize(this.header, 0, this.headerHave);
      if (size > 0 && this.headerHave === size) {
        this.startFrame(this.header, 0);
        this.headerHave = 0;
        break;
      }
    }
    return i;
  }

  private startFrame(buf: Buffer, at: number) {
    if ((buf[at] & 0x0f) === OPCODE_CLOSE) this.closeSeen = true;
    const len7 = buf[at + 1] & 0x7f;
    if (len7 < 126) this.payloadLeft = len7;
    else if (len7 === 126) this.payloadLeft = buf.readUInt16BE(at + 2);
    else this.payloadLeft = buf.readUInt32BE(at + 2) * 2 ** 32 + buf.readUInt32BE(at + 6);
  }
}

/** Size of the header starting at `at` when `have` bytes of it are known, else 0 (need more). */
function headerSize(buf: Buffer, at: number, have: number): number {
  if (have < 2) return 0;
  const len7 = buf[at + 1] & 0x7f;
  const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (buf[at + 1] & 0x80 ? 4 : 0);
  return have >= size ? size : 0;
}
