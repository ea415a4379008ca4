/**
 * The local edge's front door passes WebSocket upgrades through untouched: the request head as the
 * client sent it (path, query, Authorization), and every frame both ways, text and binary.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { startEdgeFront, type EdgeFront } from "../../browser-node/local/edge-front.ts";

describe("the local edge's front door", () => {
  const upgrades: IncomingMessage[] = [];
  const upstream = createServer((_req, res) => res.end("plain"));
  const wss = new WebSocketServer({ server: upstream, perMessageDeflate: false });
  let front: EdgeFront;

  beforeAll(async () => {
    wss.on("connection", (ws, req) => {
      upgrades.push(req);
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const { port } = upstream.address() as AddressInfo;
    front = await startEdgeFront({ host: "127.0.0.1", port: 0, upstream: new URL(`http://127.0.0.1:${port}`) });
  });
  afterAll(async () => {
    await front?.close();
    wss.close();
    upstream.close();
  });

  it("relays an upgrade with its path, query and headers, and frames both ways", async () => {
    const ws = new WebSocket(`${front.url.replace("http", "ws")}/cdp/abc?signingKey=t0k`, { headers: { authorization: "Bearer n0de" } });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const echoed = (data: string | Buffer) =>
      new Promise<{ data: Buffer; isBinary: boolean }>((resolve) => {
        ws.once("message", (d, isBinary) => resolve({ data: d as Buffer, isBinary }));
        ws.send(data);
      });
    const text = await echoed("hello");
    expect(text.isBinary).toBe(false);
    expect(text.data.toString()).toBe("hello");
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const binary = await echoed(big);
    expect(binary.isBinary).toBe(true);
    expect(binary.data.equals(big)).toBe(true);
    expect(upgrades.at(-1)?.url).toBe("/cdp/abc?signingKey=t0k");
    expect(upgrades.at(-1)?.headers.authorization).toBe("Bearer n0de");
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.close(4003, "bye");
    expect(await closed).toBe(4003);
  });
});
