/**
 * The CDP log's two halves without a browser: the hot-path capture (frame headers followed, a
 * client's masked payload unmasked, only head and tail of a long message kept) on streams cut at
 * every place, and the deferred decoder (commands paired with answers, truncation marked, pages
 * numbered, every entry within the edge's bounds).
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FrameCapture, HEAD_BYTES, TAIL_BYTES, type CapturedMessage } from "../../browser-node/artifacts/cdp-tap.ts";
import { SessionLog } from "../../browser-node/artifacts/session-log.ts";
import { ArtifactLimits, type SessionLogEntry } from "../../edge/node-protocol.ts";

/** One RFC 6455 frame; masked as a client sends it when `masked`. */
function frame(payload: Buffer, { opcode = 1, masked = false, fin = true } = {}): Buffer {
  const size = payload.length;
  const lenBytes = size < 126 ? 0 : size < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lenBytes + (masked ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = (masked ? 0x80 : 0) | (size < 126 ? size : size < 65536 ? 126 : 127);
  if (lenBytes === 2) header.writeUInt16BE(size, 2);
  if (lenBytes === 8) header.writeBigUInt64BE(BigInt(size), 2);
  if (!masked) return Buffer.concat([header, payload]);
  const mask = randomBytes(4);
  mask.copy(header, 2 + lenBytes);
  return Buffer.concat([header, Buffer.from(payload.map((b, i) => b ^ mask[i & 3]))]);
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
/** The store holds each entry's JSON text, as it is shipped. */
const takeEntries = (log: SessionLog, maxItems: number, maxBytes: number): SessionLogEntry[] => log.take(maxItems, maxBytes).map((e) => JSON.parse(e));

describe("FrameCapture", () => {
  const small = json({ id: 1, method: "Runtime.evaluate", params: { expression: "1+1" } });
  const big = json({ id: 2, result: { data: "x".repeat(100_000) }, sessionId: "SESSION-1" });
  const stream = (masked: boolean) =>
    Buffer.concat([frame(small, { masked }), frame(Buffer.from([1, 2]), { opcode: 9, masked }), frame(big, { masked }), frame(Buffer.alloc(0), { masked })]);

  it.each([1, 3, 7, 100, 65_536, 1_000_000])("keeps whole small messages and the head and tail of long ones, in %i-byte reads (masked and not)", (size) => {
    for (const masked of [false, true]) {
      const seen: CapturedMessage[] = [];
      const capture = new FrameCapture((m) => seen.push(m));
      const bytes = stream(masked);
      for (let at = 0; at < bytes.length; at += size) capture.feed(bytes.subarray(at, at + size));
      expect(seen.map((m) => m.length)).toEqual([small.length, big.length, 0]); // the ping is only followed
      expect(seen[0].head.equals(small)).toBe(true);
      expect(seen[0].tail).toBeUndefined();
      expect(seen[1].head.equals(big.subarray(0, HEAD_BYTES))).toBe(true);
      expect(seen[1].tail!.equals(big.subarray(big.length - TAIL_BYTES))).toBe(true);
    }
  });

  it("keeps a copy: the caller's buffer may be reused at once", () => {
    const seen: CapturedMessage[] = [];
    const capture = new FrameCapture((m) => seen.push(m));
    const bytes = frame(small);
    capture.feed(bytes);
    bytes.fill(0);
    expect(seen[0].head.equals(small)).toBe(true);
  });
});

/** Feeds a client→browser command and the browser's answer through one tap, then takes the entries. */
function exchange(log: SessionLog, path: string, pairs: Array<[object, object]>) {
  const tap = log.tap(path);
  for (const [command, answer] of pairs) {
    tap.fromClient(frame(json(command), { masked: true }));
    tap.fromBrowser(frame(json(answer)));
  }
  return tap;
}

describe("SessionLog", () => {
  it("pairs commands with their answers, per CDP session, with pages numbered from the attach events", () => {
    const log = new SessionLog();
    const tap = log.tap("/");
    tap.fromBrowser(frame(json({ method: "Target.attachedToTarget", params: { sessionId: "S1", targetInfo: { targetId: "T1", type: "page" } } })));
    tap.fromClient(frame(json({ id: 7, method: "Page.navigate", params: { url: "http://a.test/", frameId: "F1" }, sessionId: "S1" }), { masked: true }));
    tap.fromClient(frame(json({ id: 8, method: "Browser.getVersion", params: {} }), { masked: true }));
    tap.fromBrowser(frame(json({ id: 8, result: { product: "Chrome/1" } })));
    tap.fromBrowser(frame(json({ id: 7, result: { frameId: "F1", loaderId: "L1" }, sessionId: "S1" })));
    const entries = takeEntries(log, 100, 1e9);
    expect(entries.map((e) => e.method)).toEqual(["Browser.getVersion", "Page.navigate"]);
    expect(entries[0]).toMatchObject({ pageId: 0, sessionId: "", response: { result: { product: "Chrome/1" } } });
    expect(entries[1]).toMatchObject({
      pageId: 1,
      sessionId: "S1",
      frameId: "F1",
      loaderId: "L1",
      request: { params: { url: "http://a.test/", frameId: "F1" } },
      response: { result: { frameId: "F1", loaderId: "L1" } },
    });
    expect(entries[1].request!.timestamp).toBeLessThanOrEqual(entries[1].response!.timestamp!);
  });

  it("asks for a flush as soon as a full batch waits, once per batch, never from inside take", async () => {
    let asked = 0;
    const log = new SessionLog(() => asked++);
    const pairs = (from: number, n: number) =>
      Array.from({ length: n }, (_, i): [object, object] => [{ id: from + i, method: "Runtime.evaluate", params: {} }, { id: from + i, result: {} }]);
    exchange(log, "/", pairs(1, ArtifactLimits.batchItems - 1));
    expect(log.take(0, 0)).toEqual([]); // decodes what is queued; one short of a batch
    await new Promise((r) => setImmediate(r));
    expect(asked).toBe(0);
    exchange(log, "/", pairs(ArtifactLimits.batchItems, 1));
    expect(log.take(0, 0)).toEqual([]);
    expect(asked).toBe(0); // not from inside take: the shipper may be the one calling it
    await new Promise((r) => setImmediate(r));
    expect(asked).toBe(1);
    expect(log.take(ArtifactLimits.batchItems, 1e9)).toHaveLength(ArtifactLimits.batchItems);
    exchange(log, "/", pairs(5000, ArtifactLimits.batchItems));
    log.take(0, 0);
    await new Promise((r) => setImmediate(r));
    expect(asked).toBe(2);
  });

  it("marks a long body as truncated and still pairs it when its sessionId sits at the end", () => {
    const log = new SessionLog();
    const answer = { id: 3, result: { data: "A".repeat(3_000_000) }, sessionId: "S9" };
    exchange(log, "/", [[{ id: 3, method: "Page.captureScreenshot", params: {}, sessionId: "S9" }, answer]]);
    const [entry] = takeEntries(log, 10, 1e9);
    expect(entry.sessionId).toBe("S9");
    expect(entry.response!.result).toEqual({ truncated: true, bytes: json(answer).length });
    expect(entry.response!.rawBody.length).toBeLessThan(ArtifactLimits.logBodyChars + 100);
    expect(entry.response!.rawBody).toMatch(/…\[truncated: \d+ bytes in all\]$/);
  });

  it("keeps every entry under the edge's per-entry bound, even for bodies full of escapes", () => {
    const log = new SessionLog();
    const nasty = "\u0001".repeat(4000);
    exchange(log, "/devtools/page/T7", [[{ id: 1, method: "Runtime.evaluate", params: { expression: nasty } }, { id: 1, result: { value: nasty } }]]);
    const [entry] = takeEntries(log, 10, 1e9);
    expect(entry.sessionId).toBe("T7");
    expect(entry.pageId).toBe(1);
    expect(Buffer.byteLength(JSON.stringify(entry))).toBeLessThan(ArtifactLimits.logEntryBytes);
  });

  it("logs a channel's frames (a client's unmasked, as the edge relays them) as it logs a relay's; binary messages are skipped", () => {
    const command = { id: 4, method: "Page.navigate", params: { url: "http://a.test/" }, sessionId: "S2" };
    const answer = { id: 4, result: { frameId: "F9", loaderId: "L9", data: "B".repeat(20_000) }, sessionId: "S2" };
    const viaRelay = new SessionLog();
    exchange(viaRelay, "/", [[command, answer]]);
    const viaChannel = new SessionLog();
    const tap = viaChannel.tap("/");
    tap.fromClient(frame(Buffer.from([0xff, 0x00]), { opcode: 2 }));
    tap.fromClient(frame(json(command)));
    tap.fromBrowser(frame(Buffer.from([0x01]), { opcode: 2 }));
    tap.fromBrowser(frame(json(answer)));
    const [relayed] = takeEntries(viaRelay, 10, 1e9);
    const [channeled, ...none] = takeEntries(viaChannel, 10, 1e9);
    expect(none).toEqual([]);
    const untimed = (e: SessionLogEntry) => ({ ...e, timestamp: 0, request: { ...e.request!, timestamp: 0 }, response: { ...e.response!, timestamp: 0 } });
    expect(untimed(channeled)).toEqual(untimed(relayed));
    expect(channeled).toMatchObject({ method: "Page.navigate", sessionId: "S2", response: { result: { truncated: true, bytes: json(answer).length } } });
  });

  it("logs an unanswered command when its client leaves, and hands entries out in bounded batches", () => {
    const log = new SessionLog();
    const tap = exchange(
      log,
      "/",
      Array.from({ length: 30 }, (_, i) => [{ id: i + 1, method: "Runtime.evaluate", params: { expression: String(i) } }, { id: i + 1, result: {} }] as [object, object]),
    );
    tap.fromClient(frame(json({ id: 99, method: "Page.reload", params: {} }), { masked: true }));
    tap.end();
    const first = takeEntries(log, 10, 1e9);
    expect(first).toHaveLength(10);
    const rest = takeEntries(log, 1000, 1e9);
    expect(rest).toHaveLength(21);
    expect(rest.at(-1)).toMatchObject({ method: "Page.reload" });
    expect(rest.at(-1)!.response).toBeUndefined();
    log.putBack(first.map((e) => JSON.stringify(e)));
    expect(takeEntries(log, 1000, 1e9).map((e) => (e.request!.params as any).expression)).toEqual(first.map((e) => (e.request!.params as any).expression));
  });
});
