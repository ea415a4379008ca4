/**
 * What the edge asks of a node over the link, against a real node in edge mode: Chromium's /json
 * answers, DevTools frontend files, uploads the edge staged (fetched with the node token, plain
 * names only, bounded, nothing left of a refused or cut transfer), the downloads flush, and every
 * call the node cannot read refused with a 4xx.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { strFromU8, unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactLimits } from "../../edge/node-protocol.ts";
import { connectRawUrl } from "./support/raw-client.ts";
import { startReadyNode, type ReadyNode } from "./support/ready-node.ts";

let ready: ReadyNode;
let sessionId: string;
let site: Server;
const call = (c: Record<string, unknown>) => ready.edge.call(sessionId, c);

beforeAll(async () => {
  ready = await startReadyNode({ keepAlive: true, browserSettings: { recordSession: false } });
  sessionId = ready.node.sessionId;
  site = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-disposition": 'attachment; filename="report.txt"' });
    res.end("quarterly numbers");
  });
  await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
});
afterAll(async () => {
  await ready.stop();
  site.closeAllConnections();
  site.close();
});

describe("json", () => {
  it("answers /json/version, /json/list and /json/protocol with Chromium's JSON", async () => {
    expect(await call({ op: "json", path: "/json/version" })).toMatchObject({ ok: true, value: { Browser: ready.ready.browserVersion } });
    const list = await call({ op: "json", path: "/json/list" });
    expect(list.value.some((t: any) => t.type === "page" && typeof t.webSocketDebuggerUrl === "string")).toBe(true);
    const protocol = await call({ op: "json", path: "/json/protocol" });
    expect(protocol.value.domains.some((d: any) => d.domain === "Runtime")).toBe(true);
  });

  it("refuses any other path (400)", async () => {
    for (const path of ["/json/new", "/json", "/json/close/x", 7]) {
      expect(await call({ op: "json", path })).toMatchObject({ ok: false, status: 400 });
    }
  });
});

describe("frontend", () => {
  it("serves a DevTools frontend file, base64, with its type", async () => {
    const reply = await call({ op: "frontend", path: "/devtools/inspector.html" });
    expect(reply).toMatchObject({ ok: true, value: { status: 200, contentType: expect.stringMatching(/text\/html/) } });
    expect(Buffer.from(reply.value.body, "base64").toString()).toMatch(/<html|<!doctype/i);
  });

  it.each(["/devtools/page/ABC", "/devtools/browser/x", "/json/version", "/devtools/../json/version", "/etc/passwd", "devtools/inspector.html"])(
    "refuses %s (400)",
    async (path) => expect(await call({ op: "frontend", path })).toMatchObject({ ok: false, status: 400 }),
  );
});

describe("upload", () => {
  let uploadsDir: string;
  const stage = (name: string, body: Buffer, cut = false) => ready.edge.staged.set(`${sessionId}/${name}`, { body, cut });
  const fetched = () => ready.edge.requests.filter((r) => r.sessionId === sessionId && r.kind.startsWith("uploads/")).length;

  it("fetches the staged file into the session's uploads folder and answers its absolute path", async () => {
    const name = "résumé final.pdf";
    stage(name, Buffer.from("part one, part two"));
    const reply = await call({ op: "upload", name });
    expect(reply.ok).toBe(true);
    expect(reply.value.path).toMatch(new RegExp(`^/tmp/wc-session-[^/]+/uploads/${name}$`));
    expect(readFileSync(reply.value.path, "utf8")).toBe("part one, part two");
    uploadsDir = dirname(reply.value.path);
    // The same name again replaces the file.
    stage(name, Buffer.from("v2"));
    expect((await call({ op: "upload", name })).value.path).toBe(reply.value.path);
    expect(readFileSync(reply.value.path, "utf8")).toBe("v2");
  });

  it.each(["..", "../escape.txt", "/etc/passwd", "a/b.txt", "bad\u0001name", "", " padded "])("refuses the name %j (400) without fetching anything", async (name) => {
    const before = fetched();
    expect(await call({ op: "upload", name })).toMatchObject({ ok: false, status: 400 });
    expect(fetched()).toBe(before);
    expect(readdirSync(uploadsDir)).toEqual(["résumé final.pdf"]);
  });

  it("answers 404 when the edge has nothing staged under the name", async () => {
    expect(await call({ op: "upload", name: "never-staged.txt" })).toMatchObject({ ok: false, status: 404 });
  });

  it("stops a body over the bound (413) and keeps nothing of it", async () => {
    stage("huge.bin", Buffer.alloc(ArtifactLimits.uploadBytes + 1, 1));
    const reply = await call({ op: "upload", name: "huge.bin" });
    expect(reply).toMatchObject({ ok: false, status: 413, message: expect.stringMatching(/larger than/) });
    expect(readdirSync(uploadsDir)).toEqual(["résumé final.pdf"]);
  });

  it("keeps nothing of a transfer cut off mid-way, however often it is tried (502)", async () => {
    stage("cut.bin", Buffer.alloc(200_000, 2), true);
    const before = fetched();
    expect(await call({ op: "upload", name: "cut.bin" })).toMatchObject({ ok: false, status: 502 });
    expect(fetched() - before).toBeGreaterThan(1); // retried
    expect(readdirSync(uploadsDir)).toEqual(["résumé final.pdf"]);
  });
});

describe("flush-downloads", () => {
  it("answers at once when nothing was downloaded, and after a download once the edge took the zip", async () => {
    const puts = () => ready.edge.requests.filter((r) => r.sessionId === sessionId && r.kind === "downloads" && r.method === "PUT");
    expect(await call({ op: "flush-downloads" })).toEqual({ t: "reply", id: expect.any(Number), ok: true, value: null });
    expect(puts()).toEqual([]);
    const client = await connectRawUrl(ready.cdpUrl);
    await client.call("Target.createTarget", { url: `http://127.0.0.1:${(site.address() as AddressInfo).port}/report` });
    // The node's own CDP connection sees the download complete; then a flush ships it.
    await expect
      .poll(async () => {
        expect((await call({ op: "flush-downloads" })).ok).toBe(true);
        const last = puts().at(-1);
        return last && strFromU8(unzipSync(new Uint8Array(last.body))["report.txt"] ?? new Uint8Array());
      }, { timeout: 15_000 })
      .toBe("quarterly numbers");
    client.socket.close();
  });
});

describe("calls the node cannot read", () => {
  it.each([
    ["an unknown op", { op: "reboot" }],
    ["no op", { path: "/json/version" }],
    ["open without a channel id", { op: "open", path: "/devtools/browser", expiresAt: Date.now() + 60_000 }],
    ["open with a channel id that is no path segment", { op: "open", channel: "../link", path: "/devtools/browser", expiresAt: Date.now() + 60_000 }],
    ["open without expiresAt", { op: "open", channel: "c1", path: "/devtools/browser" }],
  ])("%s → 400", async (_name, c) => {
    expect(await call(c)).toMatchObject({ ok: false, status: 400, message: expect.any(String) });
  });

  it("open for a path that is no CDP endpoint → 404", async () => {
    expect(await call({ op: "open", channel: "c2", path: "/json/version", expiresAt: Date.now() + 60_000 })).toMatchObject({ ok: false, status: 404 });
  });
});
