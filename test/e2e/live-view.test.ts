/**
 * The live view (docs/live-view.md) through the whole local platform: a session's
 * debuggerFullscreenUrl opened in a Chromium of the test's own shows the remote page (its colour
 * read from a screenshot), passes a click and typed text to it, ignores them when read-only,
 * shows a tab the remote page opens, sizes the remote window to the viewer, walks the page's
 * history and scrolls it, works in an iframe of another origin (localhost embedding
 * 127.0.0.1), and is refused with a forged, expired or other session's token. Screenshots are
 * kept under test/e2e/artifacts/.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OFFLINE_RESOLVER_RULES } from "../../browser-node/chromium/flags.ts";
import { api, usePlatform } from "./helpers.ts";

const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
const RED = [220, 20, 20];

/** The remote pages: a red page that counts clicks and keeps what is typed; a page that opens a tab. */
function remotePage(path: string): string {
  if (path.startsWith("/tall")) return `<!doctype html><title>tall</title><body style="margin:0;background:rgb(${RED.join(",")})"><div style="height:5000px">tall</div>`;
  if (path.startsWith("/second")) return `<!doctype html><title>second tab</title><body style="margin:0;background:rgb(20,20,220)"><h1>second</h1>`;
  return `<!doctype html><title>live target</title>
<body style="margin:0;height:100vh;background:rgb(${RED.join(",")});font:32px sans-serif;color:white">
<h1 style="margin:0;padding:20px">LIVE VIEW TARGET</h1>
<input id="box" style="position:absolute;left:40px;top:200px;width:400px;height:50px;font-size:24px">
<button id="open" style="position:absolute;left:40px;top:300px" onclick="window.open('/second')">open</button>
<script>window.clicks = 0; document.addEventListener("mousedown", function () { window.clicks++; });</script>`;
}

/** The HTTP status a WebSocket upgrade is answered with (101 when it opens). */
function upgradeStatus(url: string): Promise<number> {
  const ws = new WebSocket(url);
  return new Promise((resolve) => {
    ws.once("open", () => resolve(101) ?? ws.close());
    ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.once("error", () => resolve(0));
  });
}

function serve(handler: (path: string) => string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(handler(req.url ?? "/"));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port })));
}

describe("the live view", () => {
  const t = usePlatform();
  let site: { server: Server; port: number };
  let viewer: Browser;

  beforeAll(async () => {
    site = await serve(remotePage);
    mkdirSync(ARTIFACTS, { recursive: true });
    // The viewer's own Chromium resolves nothing but loopback (localhost is the embedding origin).
    viewer = await chromium.launch({ executablePath: process.env.WC_CHROMIUM_PATH, args: [`--host-resolver-rules=${OFFLINE_RESOLVER_RULES}`] });
  });
  afterAll(async () => {
    await viewer?.close();
    await new Promise((resolve) => site?.server.close(resolve));
  });

  /** A keepAlive session whose agent (Playwright over CDP) stays on the red page; released after `body`. */
  async function withSession(body: (s: { id: string; agent: Page; liveUrl: string; signingKey: string }) => Promise<void>) {
    const created = await t.bb.sessions.create({ keepAlive: true });
    const agent = await chromium.connectOverCDP(created.connectUrl);
    try {
      const page = agent.contexts()[0].pages()[0] ?? (await agent.contexts()[0].newPage());
      await page.goto(`http://127.0.0.1:${site.port}/target`);
      const debug = await t.bb.sessions.debug(created.id);
      await body({ id: created.id, agent: page, liveUrl: debug.debuggerFullscreenUrl, signingKey: created.signingKey });
    } finally {
      await agent.close();
      await t.bb.sessions.update(created.id, { status: "REQUEST_RELEASE", projectId: t.platform.projectId });
    }
  }

  async function openView(url: string, size = { width: 1000, height: 700 }): Promise<Page> {
    const page = await viewer.newPage({ viewport: size });
    await page.goto(url);
    // (no waitForFunction: the view's CSP allows no eval, which it uses for a string)
    await expect.poll(async () => Number(await page.locator("body").getAttribute("data-frames")), { timeout: 20_000 }).toBeGreaterThan(0);
    return page;
  }

  /** Saves a screenshot as an artefact and returns the RGB at (x, y) of it, decoded by the viewer's Chromium. */
  async function screenshotPixel(page: Page, name: string, at: { x: number; y: number }): Promise<number[]> {
    const png = await page.screenshot();
    const file = `${ARTIFACTS}live-view-${name}.png`;
    writeFileSync(file, png);
    console.log(`live view screenshot: ${file}`);
    const decoder = await viewer.newPage();
    try {
      return (await decoder.evaluate(`(async () => {
        const image = await createImageBitmap(new Blob([Uint8Array.from(atob("${png.toString("base64")}"), (c) => c.charCodeAt(0))], { type: "image/png" }));
        const context = new OffscreenCanvas(image.width, image.height).getContext("2d");
        context.drawImage(image, 0, 0);
        return [...context.getImageData(${at.x}, ${at.y}, 1, 1).data.slice(0, 3)];
      })()`)) as number[];
    } finally {
      await decoder.close();
    }
  }

  const closeTo = (actual: number[], expected: number[]) => actual.every((v, i) => Math.abs(v - expected[i]) <= 40);

  it("shows the remote page, and a click and typed text reach it", async () => {
    await withSession(async ({ agent, liveUrl }) => {
      expect(liveUrl).toMatch(new RegExp(`^${t.platform.edgeUrl}/live/[0-9a-f-]{36}\\?token=`));
      const view = await openView(liveUrl);
      const box = (await view.locator("#screen").boundingBox())!;
      expect(closeTo(await screenshotPixel(view, "page", { x: Math.round(box.x + box.width / 2), y: Math.round(box.y + box.height - 20) }), RED)).toBe(true);
      await expect.poll(() => view.locator("#url").inputValue()).toBe(`http://127.0.0.1:${site.port}/target`);

      // The remote input sits at (40..440, 200..250) CSS px; the canvas shows the remote viewport scaled.
      const viewport = await (agent.evaluate("({ w: innerWidth, h: innerHeight })") as Promise<{ w: number; h: number }>);
      const scale = box.width / viewport.w;
      await view.mouse.click(box.x + 200 * scale, box.y + 225 * scale);
      await expect.poll(() => agent.evaluate("window.clicks")).toBe(1);
      await expect.poll(() => agent.evaluate("document.activeElement?.id")).toBe("box");
      await view.keyboard.type("Hello live");
      await view.keyboard.press("Shift+Home"); // a shortcut with a modifier: selects the line
      await view.keyboard.type("X");
      await expect.poll(() => agent.evaluate("document.getElementById('box').value")).toBe("X");
      await view.screenshot({ path: `${ARTIFACTS}live-view-typed.png` });
      await view.close();
    });
  });

  it("read-only shows the page and passes no input, even when the page sends it", async () => {
    await withSession(async ({ id, agent, liveUrl }) => {
      const view = await openView(`${liveUrl}&readOnly=true&navbar=false`);
      expect(await view.locator("#bar").isVisible()).toBe(false);
      const box = (await view.locator("#screen").boundingBox())!;
      expect(closeTo(await screenshotPixel(view, "read-only", { x: Math.round(box.x + box.width / 2), y: Math.round(box.y + box.height - 20) }), RED)).toBe(true);
      await view.mouse.click(box.x + 50, box.y + 50);
      // The page's script sends nothing when read-only; a socket that sends anyway is dropped by the node.
      await view.evaluate(`(() => {
        const socket = new WebSocket(document.querySelector('meta[name="wc-live-socket"]').content + location.search);
        socket.onopen = () => {
          for (const type of ["mousePressed", "mouseReleased"]) socket.send(JSON.stringify({ t: "mouse", type, x: 60, y: 60, button: "left", clickCount: 1 }));
          socket.send(JSON.stringify({ t: "text", text: "sneaky" }));
        };
      })()`);
      // A read-only token (debug's readOnly=true) drops input even on a socket that does not ask for read-only.
      const watchOnly = new URL((await api(t.platform, `/v1/sessions/${id}/debug?readOnly=true`)).body.debuggerFullscreenUrl).searchParams.get("token")!;
      await view.evaluate(`(() => {
        const socket = new WebSocket(document.querySelector('meta[name="wc-live-socket"]').content + "?token=${watchOnly}");
        socket.onopen = () => {
          for (const type of ["mousePressed", "mouseReleased"]) socket.send(JSON.stringify({ t: "mouse", type, x: 60, y: 60, button: "left", clickCount: 1 }));
        };
      })()`);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await agent.evaluate("window.clicks")).toBe(0);
      await view.close();
    });
  });

  it("shows a tab the remote page opens, and switches between tabs", async () => {
    await withSession(async ({ agent, liveUrl }) => {
      const view = await openView(liveUrl);
      const popup = agent.context().waitForEvent("page");
      await agent.click("#open");
      await (await popup).waitForLoadState();
      await expect.poll(() => view.locator("#tabs button").count()).toBe(2);
      // The view follows the new tab: its URL bar and its pixels (blue) say so.
      await expect.poll(() => view.locator("#url").inputValue()).toBe(`http://127.0.0.1:${site.port}/second`);
      await expect.poll(async () => {
        const box = (await view.locator("#screen").boundingBox())!;
        return closeTo(await screenshotPixel(view, "second-tab", { x: Math.round(box.x + box.width / 2), y: Math.round(box.y + box.height - 20) }), [20, 20, 220]);
      }).toBe(true);
      await view.locator("#tabs button", { hasText: "live target" }).click();
      await expect.poll(() => view.locator("#url").inputValue()).toBe(`http://127.0.0.1:${site.port}/target`);
      await view.close();
    });
  });

  it("sizes the remote window to the viewer with resize=true, walks history with back and forward, scrolls with the wheel", async () => {
    await withSession(async ({ agent, liveUrl }) => {
      const view = await openView(`${liveUrl}&resize=true`, { width: 900, height: 640 });
      const stage = () => view.evaluate(`[document.getElementById("stage").clientWidth, document.getElementById("stage").clientHeight]`) as Promise<number[]>;
      const remote = () => agent.evaluate("[innerWidth, innerHeight]") as Promise<number[]>;
      // The remote page takes the stage's size (its window that plus the browser's own bar).
      await expect.poll(remote, { timeout: 15_000 }).toEqual(await stage());
      await view.setViewportSize({ width: 700, height: 520 });
      const smaller = await stage();
      expect(smaller[0]).toBeLessThan(900);
      await expect.poll(remote, { timeout: 15_000 }).toEqual(smaller);

      await agent.goto(`http://127.0.0.1:${site.port}/tall`);
      await expect.poll(() => view.locator("#url").inputValue()).toBe(`http://127.0.0.1:${site.port}/tall`);
      const box = (await view.locator("#screen").boundingBox())!;
      await view.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await view.mouse.wheel(0, 600);
      await expect.poll(() => agent.evaluate("scrollY"), { timeout: 15_000 }).toBeGreaterThan(0);
      await view.locator("#back").click();
      await expect.poll(() => agent.url(), { timeout: 15_000 }).toBe(`http://127.0.0.1:${site.port}/target`);
      await view.locator("#forward").click();
      await expect.poll(() => agent.url(), { timeout: 15_000 }).toBe(`http://127.0.0.1:${site.port}/tall`);
      await view.screenshot({ path: `${ARTIFACTS}live-view-resized.png` });
      await view.close();
    });
  });

  it("works inside an iframe of another origin, and nothing else may be framed", async () => {
    await withSession(async ({ id, liveUrl }) => {
      const embedder = await serve(() => `<!doctype html><title>embedder</title><iframe id="live" src="${liveUrl.replace(/&/g, "&amp;")}" style="width:900px;height:600px;border:0"></iframe>`);
      try {
        const page = await viewer.newPage({ viewport: { width: 1000, height: 700 } });
        await page.goto(`http://localhost:${embedder.port}/`);
        const frame = page.frameLocator("#live");
        await expect.poll(() => frame.locator("body").getAttribute("data-frames").then(Number), { timeout: 20_000 }).toBeGreaterThan(0);
        const box = (await frame.locator("#screen").boundingBox())!;
        expect(closeTo(await screenshotPixel(page, "iframe", { x: Math.round(box.x + box.width / 2), y: Math.round(box.y + box.height - 20) }), RED)).toBe(true);
        const headers = (await fetch(liveUrl)).headers;
        expect(headers.get("content-security-policy")).toContain("frame-ancestors *");
        expect(headers.get("x-frame-options")).toBeNull();
        // The API and CDP answers loosen nothing.
        const other = await fetch(`${t.platform.edgeUrl}/cdp/${id}/json/version`);
        expect(other.headers.get("content-security-policy")).toBeNull();
        await page.close();
      } finally {
        await new Promise((resolve) => embedder.server.close(resolve));
      }
    });
  });

  it("refuses a forged, expired or other session's token before serving anything", async () => {
    await withSession(async ({ id, liveUrl, signingKey }) => {
      const token = new URL(liveUrl).searchParams.get("token")!;
      const [header, payload] = token.split(".");
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, ro: undefined, exp: claims.exp + 3600 })).toString("base64url")}.${token.split(".")[2]}`;
      const base = `${t.platform.edgeUrl}/live/${id}`;
      for (const [bad, reason] of [
        [forged, "live token signature invalid"],
        ["", "missing live token"],
        [signingKey, "live token aud claim rejected"], // a CDP token is not a live token
      ] as const) {
        const res = await fetch(`${base}?token=${bad}`);
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ message: reason });
        expect(await upgradeStatus(`${base.replace(/^http/, "ws")}/socket?token=${bad}`)).toBe(401);
      }
      // Expired: a debug URL that lived one second.
      const short = (await api(t.platform, `/v1/sessions/${id}/debug?expiresIn=1`)).body;
      await new Promise((resolve) => setTimeout(resolve, 7000)); // past the verifier's 5 s clock tolerance
      const expired = await fetch(short.debuggerFullscreenUrl);
      expect(expired.status).toBe(401);
      expect(await expired.json()).toEqual({ message: "live token expired" });
      // Another session's token opens nothing here.
      const elsewhere = await fetch(liveUrl.replace(id, crypto.randomUUID()));
      expect(elsewhere.status).toBe(401);
      expect(await elsewhere.json()).toEqual({ message: "live token is for another session" });
    });
  });
});
