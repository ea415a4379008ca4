/**
 * CDP clients through the edge: real Playwright and Puppeteer clients drive the real Chromium
 * through the fake edge and the node's channels (one per client), several at once, page sockets
 * too; messages of many MB pass intact; a token's expiry closes its channel with 4002; and the
 * CDP log records channel traffic. (The splice's framing, frame by frame, is test/unit/channel-frames.test.ts.)
 */
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CloseCode } from "../../edge/node-protocol.ts";
import { signCdpToken } from "./support/keys.ts";
import { connectRawUrl } from "./support/raw-client.ts";
import { startReadyNode, type ReadyNode } from "./support/ready-node.ts";
import { serveSite } from "./support/site.ts";

const PNG_MAGIC = "89504e47";
let site: Awaited<ReturnType<typeof serveSite>>;
let ready: ReadyNode;
/** The fake edge's client endpoint for this session, without a token. */
let base: string;

beforeAll(async () => {
  site = await serveSite();
  ready = await startReadyNode({ keepAlive: true });
  base = `${ready.edge.url.replace(/^http/, "ws")}/cdp/${ready.node.sessionId}`;
});
afterAll(async () => {
  await ready.stop();
  await site.close();
});

const clientsNow = () => ready.node.logs.filter((l) => l.event === "client-connected" || l.event === "client-disconnected").at(-1)?.clients ?? 0;

describe("through a channel", () => {
  it("Playwright connectOverCDP opens a page, evaluates and screenshots", async () => {
    const browser = await chromium.connectOverCDP(ready.cdpUrl);
    expect(browser.contexts()).toHaveLength(1); // the default context: a browser-level endpoint
    const page = await browser.contexts()[0].newPage();
    await page.goto(site.url + "playwright");
    expect(await page.evaluate("document.getElementById('greeting').textContent")).toBe("hello from /playwright");
    expect((await page.screenshot()).subarray(0, 4).toString("hex")).toBe(PNG_MAGIC);
    await page.close();
    await browser.close();
  });

  it("Puppeteer connect and Playwright at once; one leaving does not disturb the other", async () => {
    const first = await chromium.connectOverCDP(ready.cdpUrl);
    const second = await puppeteer.connect({ browserWSEndpoint: ready.cdpUrl, defaultViewport: null });
    await expect.poll(clientsNow).toBe(2); // one channel per client
    const page = await second.newPage();
    await page.goto(site.url + "shared");
    expect(Buffer.from(await page.screenshot()).subarray(0, 4).toString("hex")).toBe(PNG_MAGIC);
    await first.close();
    expect(await page.evaluate("location.pathname")).toBe("/shared");
    await page.goto(site.url + "after");
    expect(await page.evaluate("document.title")).toBe("wallcrawler test");
    await page.close();
    await second.disconnect();
    await expect.poll(clientsNow).toBe(0);
  });

  it("reaches a page's own socket (/devtools/page/<id>), and a target that does not exist is a 404", async () => {
    const control = await connectRawUrl(ready.cdpUrl);
    const { targetId } = await control.call("Target.createTarget", { url: site.url + "page-socket" });
    const pageSocket = await connectRawUrl(`${base}/devtools/page/${targetId}?signingKey=${ready.token}`);
    // createTarget answers before the page's navigation commits (about:blank until then).
    await expect.poll(async () => (await pageSocket.call("Runtime.evaluate", { expression: "location.pathname", returnByValue: true })).result.value).toBe("/page-socket");
    pageSocket.socket.close();
    await control.call("Target.closeTarget", { targetId });
    control.socket.close();
    await expect(connectRawUrl(`${base}/devtools/page/0123456789ABCDEF0123456789ABCDEF?signingKey=${ready.token}`)).rejects.toThrow(/404/);
  });

  it("carries messages of many MB both ways intact, as text, with others in between", async () => {
    const control = await connectRawUrl(ready.cdpUrl);
    const { targetId } = await control.call("Target.createTarget", { url: "about:blank" });
    const page = new WebSocket(`${base}/devtools/page/${targetId}?signingKey=${ready.token}`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => page.once("open", resolve).once("error", reject));
    const answers = new Map<number, { result: any; binary: boolean }>();
    page.on("message", (data, binary) => {
      const message = JSON.parse(String(data));
      answers.set(message.id, { result: message.result?.result?.value, binary });
    });
    // Chromium runs these very functions (their source) on strings the client sent, or builds a string the client checks.
    const checksum = (s: string) => {
      let h = 0;
      for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
      return `${s.length}:${h}`;
    };
    const build = (size: number) => {
      let s = "";
      for (let i = 0; s.length < size; i++) s += `${i.toString(36)},`;
      return s.slice(0, size);
    };
    const sent = [70_000, 4 * 1024 * 1024].map((size) => randomBytes(size).toString("base64").slice(0, size));
    const sizes = [70_000, 6 * 1024 * 1024];
    const calls = [...sent.map((s) => `(${checksum})(${JSON.stringify(s)})`), ...sizes.map((size) => `(${build})(${size})`), "1 + 1"];
    calls.forEach((expression, i) => page.send(JSON.stringify({ id: i + 1, method: "Runtime.evaluate", params: { expression, returnByValue: true } })));
    await expect.poll(() => answers.size).toBe(calls.length);
    expect([...answers.values()].every((a) => !a.binary)).toBe(true);
    expect(answers.get(1)!.result).toBe(checksum(sent[0]));
    expect(answers.get(2)!.result).toBe(checksum(sent[1]));
    expect(answers.get(3)!.result).toBe(build(sizes[0]));
    expect(answers.get(4)!.result).toBe(build(sizes[1]));
    expect(answers.get(5)!.result).toBe(2);
    page.close();
    await control.call("Target.closeTarget", { targetId });
    control.socket.close();
  });

  it("never negotiates deflate, even when the client offers it", async () => {
    const socket = new WebSocket(ready.cdpUrl, { perMessageDeflate: true });
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    expect(socket.extensions).toBe("");
    socket.send(JSON.stringify({ id: 7, method: "Browser.getVersion" }));
    const reply = await new Promise<any>((r) => socket.once("message", (d) => r(JSON.parse(String(d)))));
    expect(reply).toMatchObject({ id: 7, result: { product: expect.stringMatching(/Chrome\//) } });
    socket.close();
  });
});

describe("token lifetime", () => {
  it("closes a channel with 4002 when its client's token expires; the session goes on", async () => {
    const short = await signCdpToken(ready.key, { sub: ready.node.sessionId, pid: ready.node.projectId, expIn: 2 });
    const client = await connectRawUrl(`${base}?signingKey=${short}`);
    expect((await client.call("Browser.getVersion")).product).toMatch(/Chrome/);
    expect(await client.closed).toEqual(CloseCode.tokenExpired);
    const fresh = await connectRawUrl(ready.cdpUrl);
    expect((await fresh.call("Browser.getVersion")).product).toMatch(/Chrome/);
    fresh.socket.close();
  });
});

describe("the CDP log", () => {
  it("records what a client sent through its channel and what Chromium answered", async () => {
    const client = await connectRawUrl(ready.cdpUrl);
    const marker = `logged-through-a-channel-${Date.now()}`;
    const { targetId } = await client.call("Target.createTarget", { url: site.url + marker });
    await client.call("Target.closeTarget", { targetId });
    client.socket.close();
    // Shipped with the node token at the next flush (every ARTIFACT_FLUSH_INTERVAL_MS).
    const entries = () =>
      ready.edge.requests
        .filter((r) => r.kind === "logs" && r.sessionId === ready.node.sessionId)
        .flatMap((r) => JSON.parse(r.body.toString()).entries as any[]);
    await expect.poll(() => entries().find((e) => e.method === "Target.createTarget" && e.request.params.url.endsWith(marker)), { timeout: 15_000 }).toBeDefined();
    const entry = entries().find((e) => e.method === "Target.createTarget" && e.request.params.url.endsWith(marker));
    expect(entry).toMatchObject({ sessionId: "", response: { result: { targetId } } });
  });
});
