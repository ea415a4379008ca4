import Browserbase from "@browserbasehq/sdk";
import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalPlatform } from "../../browser-node/local/platform.ts";
import { PNG_SIGNATURE, sessionProcesses, startPageServer, startPlatform } from "./helpers.ts";

// Playwright and Puppeteer speak CDP straight to the session's node through its connectUrl.
describe("CDP clients through connectUrl", () => {
  let platform: LocalPlatform;
  let bb: Browserbase;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  beforeAll(async () => {
    platform = await startPlatform();
    bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl });
    pages = await startPageServer();
  });
  afterAll(async () => {
    await platform?.stop();
    await pages?.close();
  });

  it("Playwright connectOverCDP: goto, title, screenshot", async () => {
    const session = await bb.sessions.create({});
    const browser = await chromium.connectOverCDP(session.connectUrl);
    const context = browser.contexts()[0];
    expect(context).toBeDefined();
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${pages.url}/playwright`);
    expect(await page.title()).toBe("page /playwright");
    const shot = await page.screenshot();
    expect(shot.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    await bb.sessions.update(session.id, { status: "REQUEST_RELEASE" });
    await expect.poll(() => browser.isConnected(), { timeout: 15_000 }).toBe(false);
    await expect.poll(() => sessionProcesses(session.id).length, { timeout: 15_000 }).toBe(0);
  });

  it("Puppeteer connect({browserWSEndpoint}): goto, title, screenshot", async () => {
    const session = await bb.sessions.create({});
    const browser = await puppeteer.connect({ browserWSEndpoint: session.connectUrl, defaultViewport: null });
    const [existing] = await browser.pages();
    const page = existing ?? (await browser.newPage());
    await page.goto(`${pages.url}/puppeteer`);
    expect(await page.title()).toBe("page /puppeteer");
    const shot = Buffer.from(await page.screenshot());
    expect(shot.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    await browser.disconnect();
    await bb.sessions.update(session.id, { status: "REQUEST_RELEASE" });
    await expect.poll(async () => (await bb.sessions.retrieve(session.id)).status, { timeout: 15_000 }).toBe("COMPLETED");
    await expect.poll(() => sessionProcesses(session.id).length, { timeout: 15_000 }).toBe(0);
  });
});
