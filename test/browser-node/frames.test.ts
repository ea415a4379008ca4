/** The relay's frame-boundary follower, on frames cut at every possible place. */
import { describe, expect, it } from "vitest";
import { closeFrame, FrameBoundaries } from "../../browser-node/proxy/frames.ts";

/** An unmasked server frame with `size` payload bytes, encoded as RFC 6455 says. */
function frame(opcode: number, size: number): Buffer {
  const header = size < 126 ? Buffer.from([0x80 | opcode, size]) : size < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (size >= 126 && size < 65536) {
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(size, 2);
  } else if (size >= 65536) {
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(size), 2);
  }
  return Buffer.concat([header, Buffer.alloc(size, 0x61)]);
}

describe("FrameBoundaries", () => {
  const stream = Buffer.concat([frame(1, 5), frame(1, 300), frame(2, 70_000), frame(1, 0)]);
  const ends = [7, 7 + 304, 7 + 304 + 70_010, 7 + 304 + 70_010 + 2];

  it.each([1, 2, 3, 5, 13, 4096, stream.length])("finds every boundary when the stream arrives in %i-byte reads", (size) => {
    const tracker = new FrameBoundaries();
    const seen: number[] = [];
    for (let offset = 0; offset < stream.length; offset += size) {
      const chunk = stream.subarray(offset, Math.min(stream.length, offset + size));
      let at = 0;
      while (at < chunk.length) {
        at = tracker.advance(chunk, at, true);
        if (tracker.atBoundary()) seen.push(offset + at);
        if (at < chunk.length && tracker.atBoundary()) at = tracker.advance(chunk.subarray(0, at + 1), at); // step into the next frame
      }
    }
    expect([...new Set(seen)].filter((n) => n > 0)).toEqual(ends);
  });

  it("stops at the next boundary when asked, and not past it", () => {
    const tracker = new FrameBoundaries();
    tracker.advance(stream.subarray(0, 10)); // into the second frame
    expect(tracker.atBoundary()).toBe(false);
    expect(tracker.advance(stream, 10, true)).toBe(ends[1]);
    expect(tracker.atBoundary()).toBe(true);
  });

  it("notices a close frame from the server", () => {
    const tracker = new FrameBoundaries();
    tracker.advance(frame(1, 3));
    expect(tracker.closeSeen).toBe(false);
    tracker.advance(closeFrame(1000, "bye"));
    expect(tracker.closeSeen).toBe(true);
  });
});

describe("closeFrame", () => {
  it("encodes code and reason, cut to fit a control frame", () => {
    const f = closeFrame(4001, "session timed out");
    expect(f[0]).toBe(0x88);
    expect(f[1]).toBe(2 + 17);
    expect(f.readUInt16BE(2)).toBe(4001);
    expect(f.subarray(4).toString()).toBe("session timed out");
    expect(closeFrame(1000, "x".repeat(300))[1]).toBe(125);
  });
});
