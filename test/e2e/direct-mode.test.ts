/**
 * CONNECT_MODE=direct through the whole local platform: the edge hands out each node's own proxy
 * (`ws://127.0.0.1:<node port>`) and the clients talk to it without the edge in between, while
 * every control message still travels over the node's link. The real SDK, Playwright, Puppeteer,
 * the debug URLs (and the socket the DevTools frontend opens from them) and an upload.
 */
import Browserbase, { toFile } from "@browserbasehq/sdk";
import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { LocalPlatform } from "../../browser-node/local/platform.ts";
import { connectCdp, startArtifactSite } from "./fixtures/artifact-site.ts";
import { PNG_SIGNATURE, sessionProcesses, startPlatform } from "./helpers.ts";

/** What the DevTools frontend opens from a debugger URL: its `ws=` parameter as a socket URL. */
const frontendSocket = (debuggerUrl: string) => `ws://${new URL(debuggerUrl).searchParams.get("ws")}`;

describe("CONNECT_MODE=direct end to end", () => {
  const marker = crypto.randomUUID();
  let platform: LocalPlatform;
  let bb: Browserbase;
  let site: Awaited<ReturnType<typeof startArtifactSite>>;
  beforeAll(async () => {
    platform = await startPlatform({ vars: { CONNECT_MODE: "direct" } });
    bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl });
    site = await startArtifactSite(marker);
  });
  afterAll(async () => {
    await platform?.stop();
    await site?.close();
  });

  it("sends the SDK's clients to the node's own proxy: Playwright and Puppeteer at once, debug URLs, an upload", async () => {
    const session = await bb.sessions.create({ keepAlive: true });
    const nodeAddress = /^ws:\/\/(127\.0\.0\.1:(\d+))\?signingKey=[^&]+$/.exec(session.connectUrl);
    expect(nodeAddress, session.connectUrl).not.toBeNull();
    const address = nodeAddress![1];
    expect(address).not.toBe(new URL(platform.edgeUrl).host); // the node's port, not the edge's
    expect(session.seleniumRemoteUrl).toBe(`http://${address}/webdriver`);
    expect((await bb.sessions.retrieve(session.id)).connectUrl).toBe(session.connectUrl);

    const playwright = await chromium.connectOverCDP(session.connectUrl);
    const page = playwright.contexts()[0].pages()[0] ?? (await playwright.contexts()[0].newPage());
    await page.goto(`${site.url}/direct-${marker}`);
    expect(await page.title()).toBe(`page /direct-${marker}`);
    expect((await page.screenshot()).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);

    const pptr = await puppeteer.connect({ browserWSEndpoint: session.connectUrl, defaultViewport: null });
    const seen = await Promise.all((await pptr.pages()).map((p) => p.title()));
    expect(seen).toContain(`page /direct-${marker}`);

    // The debug URLs name the node too; the page socket the frontend opens from them works.
    const debug = await bb.sessions.debug(session.id);
    expect(debug.wsUrl.startsWith(`ws://${address}?signingKey=`)).toBe(true);
    const listed = debug.pages.find((p) => p.url.endsWith(`/direct-${marker}`));
    expect(listed?.debuggerUrl.startsWith(`http://${address}/devtools/inspector.html?ws=${address}/devtools/page/${listed.id}`)).toBe(true);
    const inspector = await fetch(listed!.debuggerUrl);
    expect(inspector.status).toBe(200);
    expect(await inspector.text()).toContain("<html");
    const pageSocket = await connectCdp(frontendSocket(listed!.debuggerUrl));
    expect((await pageSocket.send("Runtime.evaluate", { expression: "document.title", returnByValue: true })).result.value).toBe(`page /direct-${marker}`);
    pageSocket.close();

    // The live view: its page on the edge, its socket on the node's proxy (`/live`, the live token), frames out.
    const livePage = await fetch(listed!.debuggerFullscreenUrl);
    expect(livePage.status).toBe(200);
    expect(await livePage.text()).toContain(`content="ws://${address}/live"`);
    const viewer = new WebSocket(`ws://${address}/live?token=${new URL(listed!.debuggerFullscreenUrl).searchParams.get("token")}`);
    expect(await new Promise((resolve) => viewer.on("message", (data) => JSON.parse(String(data)).t === "frame" && resolve(true)))).toBe(true);
    viewer.close();
    const refused = new WebSocket(`ws://${address}/live?token=${session.signingKey}`); // a CDP token is not a live token
    expect(await new Promise((resolve) => refused.once("unexpected-response", (_req, res) => resolve(res.statusCode)))).toBe(401);

    // An upload: staged at the edge, fetched by the node over its link's call, set on a file input.
    const uploaded = await bb.sessions.uploads.create(session.id, { file: await toFile(Buffer.from(`direct ${marker}`), "direct.txt") });
    const path = /at (\/\S+?): set that path/.exec(uploaded.message)?.[1];
    expect(path).toMatch(/\/direct\.txt$/);
    await page.goto(`${site.url}/upload`);
    const cdpSession = await playwright.contexts()[0].newCDPSession(page);
    const { root } = await cdpSession.send("DOM.getDocument");
    const { nodeId } = await cdpSession.send("DOM.querySelector", { nodeId: root.nodeId, selector: "#f" });
    await cdpSession.send("DOM.setFileInputFiles", { nodeId, files: [path!] });
    await expect.poll(() => page.title(), { timeout: 10_000 }).toBe(`got direct.txt: direct ${marker}`);

    const pptrGone = new Promise<void>((resolve) => pptr.once("disconnected", () => resolve()));
    await bb.sessions.update(session.id, { status: "REQUEST_RELEASE" });
    await expect.poll(() => playwright.isConnected(), { timeout: 15_000 }).toBe(false);
    await pptrGone;
    expect((await bb.sessions.retrieve(session.id)).status).toBe("COMPLETED");
    await expect.poll(async () => (await sessionProcesses(platform, session.id)).length, { timeout: 20_000 }).toBe(0);
  });
});
