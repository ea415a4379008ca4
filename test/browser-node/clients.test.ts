/**
 * Real clients through the proxy of the shared node (direct mode): Playwright (ws, http and header forms),
 * Puppeteer, several at once, a browser extension's Origin, and the rewritten discovery URLs.
 */
import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { serveSite } from "./support/site.ts";
import { shared, sharedToken } from "./support/shared.ts";

const PNG_MAGIC = "89504e47";
let site: Awaited<ReturnType<typeof serveSite>>;
let token: string;
let base: string;

beforeAll(async () => {
  site = await serveSite();
  token = await sharedToken();
  base = `127.0.0.1:${shared().port}`;
});
afterAll(() => site.close());

async function exercisePlaywright(browser: Awaited<ReturnType<typeof chromium.connectOverCDP>>, path: string) {
  expect(browser.contexts()).toHaveLength(1); // the default context: a browser-level endpoint
  const page = await browser.contexts()[0].newPage();
  await page.goto(site.url + path);
  expect(await page.evaluate("document.getElementById('greeting').textContent")).toBe(`hello from /${path}`);
  expect((await page.screenshot()).subarray(0, 4).toString("hex")).toBe(PNG_MAGIC);
  await page.close();
}

describe("Playwright connectOverCDP", () => {
  it("works with the ws URL carrying ?signingKey=", async () => {
    const browser = await chromium.connectOverCDP(`ws://${base}?signingKey=${token}`);
    await exercisePlaywright(browser, "ws-form");
    await browser.close();
  });

  it("works with the http URL: /json/version/ keeps the token and points back through the proxy", async () => {
    const browser = await chromium.connectOverCDP(`http://${base}?signingKey=${token}`);
    await exercisePlaywright(browser, "http-form");
    await browser.close();
  });

  it("works with the token in Authorization: Bearer or x-bb-signing-key", async () => {
    const forms: Record<string, string>[] = [{ Authorization: `Bearer ${token}` }, { "x-bb-signing-key": token }];
    for (const headers of forms) {
      const browser = await chromium.connectOverCDP(`ws://${base}`, { headers });
      await exercisePlaywright(browser, "header-form");
      await browser.close();
    }
  });
});

describe("Puppeteer connect({browserWSEndpoint})", () => {
  it("opens a page, evaluates and screenshots", async () => {
    const browser = await puppeteer.connect({ browserWSEndpoint: `ws://${base}?signingKey=${token}`, defaultViewport: null });
    const page = await browser.newPage();
    await page.goto(site.url + "puppeteer");
    expect(await page.evaluate("document.title")).toBe("wallcrawler test");
    expect(Buffer.from(await page.screenshot()).subarray(0, 4).toString("hex")).toBe(PNG_MAGIC);
    await page.close();
    await browser.disconnect();
  });
});

describe("several clients share the session", () => {
  it("keeps the other client working when one leaves", async () => {
    const first = await chromium.connectOverCDP(`ws://${base}?signingKey=${token}`);
    const second = await puppeteer.connect({ browserWSEndpoint: `ws://${base}?signingKey=${token}`, defaultViewport: null });
    const page = await second.newPage();
    await page.goto(site.url + "shared");
    await first.close(); // disconnects the first client only
    expect(await page.evaluate("location.pathname")).toBe("/shared");
    await page.goto(site.url + "after");
    expect(await page.evaluate("location.pathname")).toBe("/after");
    await page.close();
    await second.disconnect();
  });

  it("accepts a client that sends an Origin (Stagehand's extension) and never negotiates deflate", async () => {
    const socket = new WebSocket(`ws://${base}/?signingKey=${token}`, { origin: "chrome-extension://abcdefghijklmnop" });
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    expect(socket.extensions).toBe(""); // ws offered permessage-deflate; nobody accepted it
    socket.send(JSON.stringify({ id: 7, method: "Browser.getVersion" }));
    const reply = await new Promise<any>((r) => socket.once("message", (d) => r(JSON.parse(String(d)))));
    expect(reply.id).toBe(7);
    expect(reply.result.product).toMatch(/Chrome\//);
    socket.close();
  });
});

describe("discovery over HTTP", () => {
  it("answers /health without a token", async () => {
    const res = await fetch(`http://${base}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("serves no artifact endpoints: uploads and the downloads flush are link calls in both modes", async () => {
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`http://${base}/uploads/a.txt`, { method: "PUT", headers: auth, body: "x" })).status).toBe(404);
    expect((await fetch(`http://${base}/downloads/flush`, { method: "POST", headers: auth })).status).toBe(404);
  });

  it("rewrites /json/list (with or without trailing slash) to URLs through the proxy with the token", async () => {
    for (const path of ["/json/list", "/json/list/", "/json"]) {
      const res = await fetch(`http://${base}${path}?signingKey=${token}`);
      expect(res.status).toBe(200);
      const targets = (await res.json()) as any[];
      const page = targets.find((t) => t.type === "page");
      expect(page).toBeDefined();
      for (const t of targets) {
        expect(t.webSocketDebuggerUrl).toBe(`ws://${base}/devtools/page/${t.id}?signingKey=${token}`);
        expect(t.devtoolsFrontendUrl).toBe(`http://${base}/devtools/inspector.html?ws=${base}/devtools/page/${t.id}%3FsigningKey%3D${token}`);
      }
    }
  });

  it("rewrites /json/version's browser endpoint", async () => {
    const version = (await (await fetch(`http://${base}/json/version/`, { headers: { "x-bb-signing-key": token } })).json()) as any;
    expect(version.Browser).toMatch(/^Chrome\/\d+/);
    expect(version.webSocketDebuggerUrl).toMatch(new RegExp(`^ws://${base}/devtools/browser/[0-9a-f-]+\\?signingKey=${token}$`));
  });
});
