/**
 * The node's one reader of WebSocket frame headers (browser-node/proxy/frames.ts), which both the
 * relay's FrameBoundaries and the CDP log's FrameCapture follow: every length encoding at its
 * edges, masked and not, whole in one read or cut at every byte.
 */
import { describe, expect, it } from "vitest";
import { FrameBoundaries, FrameHeaderReader } from "../../../browser-node/proxy/frames.ts";

/** An RFC 6455 header for a payload of `length` bytes (the payload itself is not needed to read it). */
function header(length: number, { opcode = 1, fin = true, mask }: { opcode?: number; fin?: boolean; mask?: number[] } = {}): Buffer {
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const bytes = Buffer.alloc(2 + extended + (mask ? 4 : 0));
  bytes[0] = (fin ? 0x80 : 0) | opcode;
  bytes[1] = (mask ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) bytes.writeUInt16BE(length, 2);
  if (extended === 8) bytes.writeBigUInt64BE(BigInt(length), 2);
  if (mask) Buffer.from(mask).copy(bytes, 2 + extended);
  return bytes;
}

const LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1];
const MASK = [0xde, 0xad, 0xbe, 0xef];

describe("FrameHeaderReader", () => {
  it.each(LENGTHS)("reads a payload length of %i in the shortest encoding RFC 6455 allows", (length) => {
    const bytes = header(length);
    expect(bytes.length).toBe(length < 126 ? 2 : length < 65536 ? 4 : 10);
    const reader = new FrameHeaderReader();
    expect(reader.read(bytes, 0)).toBe(bytes.length);
    expect(reader.partial).toBe(false);
    expect(reader).toMatchObject({ payloadLength: length, fin: true, opcode: 1, masked: false });
  });

  it.each(LENGTHS)("reads a masked (client's) header of length %i, with its masking key", (length) => {
    const bytes = header(length, { mask: MASK });
    const reader = new FrameHeaderReader();
    expect(reader.read(bytes, 0)).toBe(bytes.length);
    expect(reader).toMatchObject({ payloadLength: length, masked: true });
    expect([...reader.mask]).toEqual(MASK);
  });

  it("reads a length sent longer than it needs to be (126 in 64 bits): the length is what counts", () => {
    const bytes = Buffer.from([0x82, 127, 0, 0, 0, 0, 0, 0, 0, 126]);
    const reader = new FrameHeaderReader();
    expect(reader.read(bytes, 0)).toBe(10);
    expect(reader).toMatchObject({ payloadLength: 126, opcode: 2 });
  });

  it("reads FIN, the opcode and the mask bit apart from the length bits", () => {
    const reader = new FrameHeaderReader();
    reader.read(header(126, { opcode: 0x8, fin: true, mask: MASK }), 0);
    expect(reader).toMatchObject({ fin: true, opcode: 0x8, masked: true, payloadLength: 126 });
    reader.read(header(3, { opcode: 0x0, fin: false }), 0);
    expect(reader).toMatchObject({ fin: false, opcode: 0x0, masked: false, payloadLength: 3 });
  });

  it.each([
    [125, false],
    [126, true],
    [65536, false],
    [2 ** 32, true],
  ])("reads a header of length %i (masked: %s) cut at every byte, and at an offset in its chunk", (length, masked) => {
    const bytes = header(length, masked ? { mask: MASK } : {});
    for (let cut = 1; cut < bytes.length; cut++) {
      const reader = new FrameHeaderReader();
      const first = Buffer.concat([Buffer.from("junk"), bytes.subarray(0, cut)]);
      expect(reader.read(first, 4)).toBe(first.length);
      expect(reader.partial).toBe(true);
      const rest = Buffer.concat([bytes.subarray(cut), Buffer.from("payload")]);
      expect(reader.read(rest, 0)).toBe(bytes.length - cut);
      expect(reader.partial).toBe(false);
      expect(reader.payloadLength).toBe(length);
      expect([...reader.mask]).toEqual(masked ? MASK : [0, 0, 0, 0]);
    }
    // One byte a read: partial until the last one.
    const reader = new FrameHeaderReader();
    for (let i = 0; i < bytes.length; i++) {
      expect(reader.read(bytes.subarray(i, i + 1), 0)).toBe(1);
      expect(reader.partial).toBe(i < bytes.length - 1);
    }
    expect(reader.payloadLength).toBe(length);
  });
});

describe("FrameBoundaries over long frames", () => {
  it.each([65535, 65536, 2 ** 32])("counts a %i-byte payload through to the next frame's boundary", (length) => {
    const tracker = new FrameBoundaries();
    tracker.advance(header(length, { opcode: 2 }));
    expect(tracker.atBoundary()).toBe(false);
    // The payload, in 1 MiB reads, without materialising 4 GiB: the same buffer again and again.
    const block = Buffer.alloc(Math.min(length, 2 ** 20));
    let left = length;
    while (left > block.length) {
      expect(tracker.advance(block, 0, true)).toBe(block.length);
      left -= block.length;
    }
    const last = Buffer.concat([block.subarray(0, left), header(0, { opcode: 0x8 })]);
    expect(tracker.advance(last, 0, true)).toBe(left);
    expect(tracker.atBoundary()).toBe(true);
    expect(tracker.closeSeen).toBe(false);
    tracker.advance(last, left);
    expect(tracker.closeSeen).toBe(true);
  });
});
