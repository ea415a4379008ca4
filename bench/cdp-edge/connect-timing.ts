/** Connect times on a settled browser. */
import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";
import { CdpClient } from "../cdp-proxy/cdp-client.ts";

/** Playwright's `connectOverCDP`: the time until it resolves, then a disconnect. */
export async function connectOverCdpMs(url: string): Promise<number> {
  const started = performance.now();
  const browser = await chromium.connectOverCDP(url);
  const ms = performance.now() - started;
  if (browser.contexts()[0]?.pages().length !== 1) throw new Error(`connectOverCDP(${url}) did not find the session's one page`);
  // Over CDP this only disconnects: the session's browser and page stay as they were.
  await browser.close();
  return ms;
}

/** Puppeteer's `connect` (it offers no deflate): the time until it resolves, then a disconnect. */
export async function puppeteerConnectMs(browserWSEndpoint: string): Promise<number> {
  const started = performance.now();
  const browser = await puppeteer.connect({ browserWSEndpoint, defaultViewport: null });
  const ms = performance.now() - started;
  await browser.disconnect();
  return ms;
}

/** Opening a bare CDP WebSocket (no deflate), then closing it: the part of a connect that is no CDP conversation. */
export async function socketOpenMs(url: string): Promise<number> {
  const started = performance.now();
  const client = await CdpClient.connect(url);
  const ms = performance.now() - started;
  client.close();
  return ms;
}
