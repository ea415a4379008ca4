/**
 * A channel (browser-node/link/channel.ts) between two stand-in servers on loopback: a `ws` server
 * or a raw socket where Chromium's debugging endpoint would be, and another where the edge would.
 * What the splice must keep: every message intact both ways whatever its size and however TCP cuts
 * it, text as text and binary as binary, bytes sent right behind a handshake, close frames with
 * their codes, a close of ours only between two frames, backpressure without a corrupted byte,
 * the session log's tap, and the refusals an `open` call answers.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { FrameCapture, HEAD_BYTES, TAIL_BYTES, type CapturedMessage } from "../../browser-node/artifacts/cdp-tap.ts";
import { Channel } from "../../browser-node/link/channel.ts";
import type { CloseReason } from "../../edge/node-protocol.ts";

type Message = [data: Buffer, isBinary: boolean];

/** A stand-in server: answers upgrades as `ws` does (or refuses them, or hands over the raw socket after the 101). */
class Peer {
  readonly requests: IncomingMessage[] = [];
  readonly sockets: WebSocket[] = [];
  readonly raw: Socket[] = [];
  private readonly server: Server = createServer();
  /** It would take deflate if offered: the channel must not offer it. */
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: true });
  private waiters: Array<() => void> = [];
  port = 0;

  constructor(private readonly o: { refuse?: number; raw?: boolean; early?: Buffer; delayMs?: number } = {}) {
    this.server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      this.requests.push(req);
      setTimeout(() => this.answer(req, socket, head), o.delayMs ?? 0);
    });
  }

  private answer(req: IncomingMessage, socket: Socket, head: Buffer) {
    if (this.o.refuse) return socket.end(`HTTP/1.1 ${this.o.refuse} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    if (!this.o.raw) return this.wss.handleUpgrade(req, socket, head, (ws) => this.arrived(this.sockets, ws));
    const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.on("end", () => socket.destroy()); // an http server's sockets are half-open ones
    socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`), this.o.early ?? Buffer.alloc(0)]));
    this.arrived(this.raw, socket);
  }

  private arrived<T>(list: T[], item: T) {
    list.push(item);
    for (const wake of this.waiters.splice(0)) wake();
  }

  async listen() {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** The socket this peer took (a `ws` one, or the raw socket). */
  async socket<T extends WebSocket | Socket = WebSocket>(): Promise<T> {
    const list = (this.o.raw ? this.raw : this.sockets) as T[];
    while (list.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    return list[0];
  }

  close() {
    for (const ws of this.wss.clients) ws.terminate();
    for (const socket of this.raw) socket.destroy();
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

/**
 * A frame as a server sends it (unmasked), or as a client does with `mask`: with [0, 0, 0, 0], what
 * the channel must send for the server's frame; with any other key, a frame no server may send.
 */
function frame(opcode: number, payload: Buffer, { mask }: { mask?: number[] } = {}): Buffer {
  const n = payload.length;
  const lengthBytes = n < 126 ? [n] : n < 65536 ? [126, n >> 8, n & 0xff] : [127, 0, 0, ...[40, 32, 24, 16, 8, 0].map((bits) => Math.floor(n / 2 ** bits) & 0xff)];
  const head = Buffer.from([0x80 | opcode, ...lengthBytes, ...(mask ?? [])]);
  if (mask) head[1] |= 0x80;
  return Buffer.concat([head, mask ? payload.map((b, i) => b ^ mask[i % 4]) : payload]);
}
const ZERO_KEY = [0, 0, 0, 0];

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (length: number, seed = "cdp") => Buffer.from(seed.repeat(Math.ceil(length / seed.length)).slice(0, length));

/** Resolves with the next `n` messages the socket receives. */
function receive(ws: WebSocket, n: number): Promise<Message[]> {
  const got: Message[] = [];
  return new Promise((resolve) => {
    const on = (data: Buffer, isBinary: boolean) => {
      got.push([data, isBinary]);
      if (got.length < n) return;
      ws.off("message", on);
      resolve(got);
    };
    ws.on("message", on);
  });
}
const closeOf = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((r) => ws.once("close", (code, reason) => r({ code, reason: String(reason) })));

let peers: Peer[] = [];
afterEach(async () => {
  await Promise.all(peers.map((p) => p.close()));
  peers = [];
});

async function setUp(chromium: ConstructorParameters<typeof Peer>[0] = {}, edge: ConstructorParameters<typeof Peer>[0] = {}) {
  const browserPeer = await new Peer(chromium).listen();
  const edgePeer = await new Peer(edge).listen();
  peers.push(browserPeer, edgePeer);
  const lost: CloseReason[] = [];
  const tapped = { fromClient: [] as CapturedMessage[], fromBrowser: [] as CapturedMessage[], ended: 0 };
  const up = new FrameCapture((m) => tapped.fromClient.push(m));
  const down = new FrameCapture((m) => tapped.fromBrowser.push(m));
  const open = () =>
    Channel.open({
      debugPort: browserPeer.port,
      chromiumPath: "/devtools/browser/0f1e",
      edgeUrl: new URL(`ws://127.0.0.1:${edgePeer.port}/internal/nodes/s1/cdp/c1`),
      nodeToken: "node-token",
      onUpstreamLost: async () => {
        const why = { code: 1011, reason: "browser crashed" };
        lost.push(why);
        return why;
      },
      // As the session log follows them: the bytes as they pass, read into text messages.
      tap: {
        fromClient: (chunk) => up.feed(chunk),
        fromBrowser: (chunk) => down.feed(chunk),
        end: () => tapped.ended++,
      },
    });
  return { browserPeer, edgePeer, lost, tapped, open };
}

describe("a channel's splice", () => {
  it("passes messages of every size both ways intact, text as text and binary as binary", async () => {
    const { browserPeer, edgePeer, open } = await setUp();
    const channel = await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket(), edgePeer.socket()]);
    const sent: Message[] = [
      [text(20), false],
      [randomBytes(125), true],
      [text(65_535), false],
      [text(70_000, "{\"id\":1}"), false],
      [randomBytes(5 * 1024 * 1024 + 3), true],
      [text(3 * 1024 * 1024, "screenshot"), false],
      [Buffer.alloc(0), false],
    ];
    const toChromium = receive(chromium, sent.length);
    const toEdge = receive(edge, sent.length);
    for (const [data, binary] of sent) edge.send(data, { binary });
    for (const [data, binary] of sent) chromium.send(data, { binary });
    for (const got of [await toChromium, await toEdge]) {
      expect(got.map(([data, binary]) => [data.length, binary])).toEqual(sent.map(([data, binary]) => [data.length, binary]));
      got.forEach(([data], i) => expect(data.equals(sent[i][0])).toBe(true));
    }
    edge.close(1000);
    await channel.closed;
  });

  it("dials the edge with the node token and offers no extension to either side", async () => {
    const { browserPeer, edgePeer, open } = await setUp();
    await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket(), edgePeer.socket()]);
    expect(edgePeer.requests[0].headers.authorization).toBe("Bearer node-token");
    expect(edgePeer.requests[0].url).toBe("/internal/nodes/s1/cdp/c1");
    expect(browserPeer.requests[0].url).toBe("/devtools/browser/0f1e");
    for (const peer of [browserPeer, edgePeer]) expect(peer.requests[0].headers["sec-websocket-extensions"]).toBeUndefined();
    expect([chromium.extensions, edge.extensions]).toEqual(["", ""]);
  });

  it("follows frames cut anywhere across TCP reads, both ways", async () => {
    const { browserPeer, edgePeer, open } = await setUp({ raw: true }, { raw: true });
    const channel = await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket<Socket>(), edgePeer.socket<Socket>()]);
    // Each side gets exactly the frames the other sent, re-headed as a client's.
    const messages: Array<[number, Buffer]> = [[1, text(300)], [2, randomBytes(70_000)], [9, Buffer.from("ping")], [1, text(5)]];
    const stream = Buffer.concat(messages.map(([opcode, payload]) => frame(opcode, payload)));
    const expected = Buffer.concat(messages.map(([opcode, payload]) => frame(opcode, payload, { mask: ZERO_KEY })));
    const seen = { chromium: [] as Buffer[], edge: [] as Buffer[] };
    chromium.on("data", (d: Buffer) => seen.chromium.push(d));
    edge.on("data", (d: Buffer) => seen.edge.push(d));
    // Cuts inside the first two headers byte by byte, inside the long payload, the ping's and the last one's.
    const cuts = [1, 2, 3, 4, 305, 306, 307, 308, 309, 310, 311, 30_000, stream.length - 10, stream.length - 5];
    let from = 0;
    for (const cut of [...cuts, stream.length]) {
      chromium.write(stream.subarray(from, cut));
      edge.write(stream.subarray(from, cut));
      from = cut;
      await pause(3);
    }
    await expect.poll(() => Buffer.concat(seen.edge).length).toBe(expected.length);
    await expect.poll(() => Buffer.concat(seen.chromium).length).toBe(expected.length);
    expect(Buffer.concat(seen.edge).equals(expected)).toBe(true);
    expect(Buffer.concat(seen.chromium).equals(expected)).toBe(true);
    edge.destroy();
    await channel.closed;
  });

  it("keeps what either side sends right behind its handshake, while the other is still being dialed", async () => {
    const early = frame(1, Buffer.from('{"method":"early"}'));
    const { browserPeer, edgePeer, open } = await setUp({ raw: true, early }, { delayMs: 150 });
    const opening = open();
    const chromium = await browserPeer.socket<Socket>();
    chromium.write(frame(1, Buffer.from('{"method":"before the edge"}')));
    const edge = await edgePeer.socket();
    const got = receive(edge, 3);
    await opening;
    chromium.write(frame(1, Buffer.from('{"method":"after"}')));
    expect((await got).map(([d]) => String(d))).toEqual(['{"method":"early"}', '{"method":"before the edge"}', '{"method":"after"}']);
  });

  it("passes pings through and their pongs back", async () => {
    const { browserPeer, edgePeer, open } = await setUp();
    await open();
    const [, edge] = await Promise.all([browserPeer.socket(), edgePeer.socket()]);
    const pong = new Promise<string>((r) => edge.once("pong", (d) => r(String(d))));
    edge.ping("are you there");
    expect(await pong).toBe("are you there");
  });
});

describe("closing", () => {
  it("a close frame from Chromium reaches the edge with its code and reason", async () => {
    const { browserPeer, edgePeer, open, lost } = await setUp();
    const channel = await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket(), edgePeer.socket()]);
    const closed = closeOf(edge);
    chromium.send(text(100_000), { binary: false });
    chromium.close(4321, "target detached");
    expect(await closed).toEqual({ code: 4321, reason: "target detached" });
    await channel.closed;
    expect(lost).toEqual([]);
  });

  it("a close frame from Chromium without a code reaches the edge as a close without one", async () => {
    const { browserPeer, edgePeer, open } = await setUp({ raw: true });
    const channel = await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket<Socket>(), edgePeer.socket()]);
    const closed = closeOf(edge);
    chromium.write(frame(8, Buffer.alloc(0)));
    expect(await closed).toEqual({ code: 1005, reason: "" });
    await channel.closed;
  });

  it("Chromium dropping without a close frame: onUpstreamLost decides the client's close", async () => {
    const { browserPeer, edgePeer, open, lost } = await setUp();
    const channel = await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket(), edgePeer.socket()]);
    const closed = closeOf(edge);
    chromium.terminate();
    expect(await closed).toEqual({ code: 1011, reason: "browser crashed" });
    await channel.closed;
    expect(lost).toHaveLength(1);
  });

  it("a masked frame from Chromium is a broken side: dropped and asked about", async () => {
    const { browserPeer, edgePeer, open, lost } = await setUp({ raw: true });
    const channel = await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket<Socket>(), edgePeer.socket()]);
    const got = receive(edge, 1);
    const closed = closeOf(edge);
    chromium.write(Buffer.concat([frame(1, Buffer.from("fine")), frame(1, Buffer.from("masked"), { mask: [1, 2, 3, 4] })]));
    expect(String((await got)[0][0])).toBe("fine");
    expect(await closed).toEqual({ code: 1011, reason: "browser crashed" });
    await channel.closed;
    expect(lost).toHaveLength(1);
  });

  it("a masked frame from the edge is a broken side: the channel ends, Chromium's side dropped", async () => {
    const { browserPeer, edgePeer, open, lost } = await setUp({}, { raw: true });
    const channel = await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket(), edgePeer.socket<Socket>()]);
    const chromiumClosed = closeOf(chromium);
    edge.write(frame(1, Buffer.from("masked"), { mask: [1, 2, 3, 4] }));
    await channel.closed;
    expect((await chromiumClosed).code).toBe(1006);
    expect(lost).toEqual([]);
  });

  it("close(why) waits for the end of the frame under way, then sends why; Chromium's side is dropped", async () => {
    const { browserPeer, edgePeer, open } = await setUp({ raw: true });
    const channel = await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket<Socket>(), edgePeer.socket()]);
    const chromiumGone = new Promise((r) => chromium.once("close", r));
    const got = receive(edge, 1);
    const closed = closeOf(edge);
    const long = frame(1, text(200_000));
    chromium.write(long.subarray(0, 1000));
    await pause(20);
    void channel.close({ code: 4002, reason: "token expired" });
    await pause(20);
    chromium.write(long.subarray(1000));
    expect((await got)[0][0].equals(text(200_000))).toBe(true);
    expect(await closed).toEqual({ code: 4002, reason: "token expired" });
    await chromiumGone;
    await channel.closed;
  });

  it("the edge closing ends the channel: answered with its code, Chromium's side dropped", async () => {
    const { browserPeer, edgePeer, open, tapped } = await setUp();
    const channel = await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket(), edgePeer.socket()]);
    const chromiumClosed = closeOf(chromium);
    const answered = closeOf(edge);
    edge.close(1001, "client went away");
    await channel.closed;
    expect(await answered).toEqual({ code: 1001, reason: "client went away" });
    expect((await chromiumClosed).code).toBe(1006);
    expect(tapped.ended).toBe(1);
  });

  it("an edge that does not answer our close frame is dropped", async () => {
    const { browserPeer, edgePeer, open } = await setUp({}, { raw: true });
    const channel = await open();
    await Promise.all([browserPeer.socket(), edgePeer.socket<Socket>()]);
    const started = Date.now();
    await channel.close({ code: 1001, reason: "released" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe("backpressure", () => {
  it("stops reading Chromium while the edge reads nothing, and loses no byte when it reads again", async () => {
    const { browserPeer, edgePeer, open } = await setUp();
    await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket(), edgePeer.socket()]);
    edge.pause();
    const sent = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1024 * 1024, i));
    for (const data of sent) chromium.send(data, { binary: true });
    await pause(300);
    expect(chromium.bufferedAmount).toBeGreaterThan(0); // held back: the channel stopped reading
    const got = receive(edge, sent.length);
    edge.resume();
    (await got).forEach(([data], i) => expect(data.equals(sent[i])).toBe(true));
  });
});

/** What the log keeps of a text message: its head, and its tail when it is longer than both. */
const captured = (data: Buffer): CapturedMessage => ({
  head: data.subarray(0, HEAD_BYTES),
  tail: data.length > HEAD_BYTES + TAIL_BYTES ? data.subarray(data.length - TAIL_BYTES) : data.length > HEAD_BYTES ? data.subarray(HEAD_BYTES) : undefined,
  length: data.length,
});

describe("the session log's tap", () => {
  it("sees every byte both ways: each text message read from them (a long one as its head and tail), binary ones skipped", async () => {
    const { browserPeer, edgePeer, open, tapped } = await setUp();
    const channel = await open();
    const [chromium, edge] = await Promise.all([browserPeer.socket(), edgePeer.socket()]);
    const command = Buffer.from('{"id":1,"method":"Page.captureScreenshot"}');
    const answer = Buffer.concat([Buffer.from('{"id":1,"result":{"data":"'), text(HEAD_BYTES * 40, "iVBOR"), Buffer.from('"},"sessionId":"ABC"}')]);
    const toChromium = receive(chromium, 2);
    edge.send(command, { binary: false });
    edge.send(randomBytes(50), { binary: true });
    await toChromium;
    const toEdge = receive(edge, 1);
    chromium.send(answer, { binary: false });
    await toEdge;
    expect(tapped.fromClient).toEqual([captured(command)]);
    expect(tapped.fromBrowser).toEqual([captured(answer)]);
    edge.close();
    await channel.closed;
    expect(tapped.ended).toBe(1);
  });
});

describe("refusals", () => {
  it.each([
    [404, 404, "no such target"],
    [500, 404, "no such target"],
    [403, 502, "the browser refused the connection (HTTP 403)"],
  ])("Chromium answering %i is %i %s, and an edge side already open is dropped", async (status, answered, message) => {
    const { edgePeer, open } = await setUp({ refuse: status });
    await expect(open()).rejects.toMatchObject({ status: answered, message });
    const edge = await edgePeer.socket();
    if (edge.readyState !== WebSocket.CLOSED) await closeOf(edge);
  });

  it("an edge refusing the channel is 502; Chromium's side is dropped", async () => {
    const { browserPeer, open } = await setUp({}, { refuse: 401 });
    await expect(open()).rejects.toMatchObject({ status: 502, message: "the edge refused the channel (HTTP 401)" });
    const chromium = await browserPeer.socket();
    if (chromium.readyState !== WebSocket.CLOSED) await closeOf(chromium);
  });
});
