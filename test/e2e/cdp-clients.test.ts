import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";
import { describe, expect, it } from "vitest";
import { PNG_SIGNATURE, sessionProcesses, usePlatform } from "./helpers.ts";

// Playwright and Puppeteer speak CDP to the session's browser through its connectUrl (the edge, in edge mode).
describe("CDP clients through connectUrl", () => {
  const t = usePlatform();

  it("Playwright connectOverCDP: goto, title, screenshot", async () => {
    const session = await t.bb.sessions.create({});
    const browser = await chromium.connectOverCDP(session.connectUrl);
    const context = browser.contexts()[0];
    expect(context).toBeDefined();
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${t.pages.url}/playwright`);
    expect(await page.title()).toBe("page /playwright");
    const shot = await page.screenshot();
    expect(shot.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    await t.bb.sessions.update(session.id, { status: "REQUEST_RELEASE" });
    await expect.poll(() => browser.isConnected(), { timeout: 15_000 }).toBe(false);
    await expect.poll(async () => (await sessionProcesses(t.platform, session.id)).length, { timeout: 15_000 }).toBe(0);
  });

  it("Playwright connectOverCDP in its http form (/json/version/ through the edge, the token kept): goto, title", async () => {
    const session = await t.bb.sessions.create({});
    const httpForm = session.connectUrl.replace(/^ws/, "http");
    expect(httpForm.startsWith(`${t.platform.edgeUrl}/cdp/${session.id}?signingKey=`)).toBe(true);
    const browser = await chromium.connectOverCDP(httpForm);
    const page = browser.contexts()[0].pages()[0] ?? (await browser.contexts()[0].newPage());
    await page.goto(`${t.pages.url}/playwright-http`);
    expect(await page.title()).toBe("page /playwright-http");
    await browser.close();
    await expect.poll(async () => (await t.bb.sessions.retrieve(session.id)).status, { timeout: 15_000 }).toBe("COMPLETED");
    await expect.poll(async () => (await sessionProcesses(t.platform, session.id)).length, { timeout: 15_000 }).toBe(0);
  });

  it("Puppeteer connect({browserWSEndpoint}): goto, title, screenshot", async () => {
    const session = await t.bb.sessions.create({});
    const browser = await puppeteer.connect({ browserWSEndpoint: session.connectUrl, defaultViewport: null });
    const [existing] = await browser.pages();
    const page = existing ?? (await browser.newPage());
    await page.goto(`${t.pages.url}/puppeteer`);
    expect(await page.title()).toBe("page /puppeteer");
    const shot = Buffer.from(await page.screenshot());
    expect(shot.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    await browser.disconnect();
    await t.bb.sessions.update(session.id, { status: "REQUEST_RELEASE" });
    await expect.poll(async () => (await t.bb.sessions.retrieve(session.id)).status, { timeout: 15_000 }).toBe("COMPLETED");
    await expect.poll(async () => (await sessionProcesses(t.platform, session.id)).length, { timeout: 15_000 }).toBe(0);
  });
});
