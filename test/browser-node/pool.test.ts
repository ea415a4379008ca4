/**
 * The warm pool, the node's side (docs/pool.md): a node boots without a session, settles its
 * browser, says `warm` on its pool link and serves the session it is assigned; a reserved member
 * waits for its assignment and launches with the session's settings; a node the pool does not
 * want (retired, dropped, refused) stops its browser and leaves.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_VIEWPORT } from "../../edge/browser-settings.ts";
import { PoolLinkClose } from "../../edge/node-protocol.ts";
import { FakeEdge } from "./support/fake-edge.ts";
import { startNode, type RunningNode } from "./support/node-process.ts";
import { chromiumLeft } from "./support/processes.ts";
import { startReadyNode } from "./support/ready-node.ts";
import { serveSite, type Site } from "./support/site.ts";

let edge: FakeEdge;
let site: Site;
beforeAll(async () => {
  edge = await FakeEdge.start();
  site = await serveSite();
});
afterAll(async () => {
  await site.close();
  await edge.stop();
});

/** The node left the pool unassigned with `code`, its warm Chromium gone. */
async function expectLeft(node: RunningNode, code: number) {
  expect((await node.exited).code).toBe(code);
  const started = node.logs.find((l) => l.event === "browser-started");
  if (started) expect(chromiumLeft(started.profileDir, started.pid)).toEqual([]);
  // The session folder it made while warm goes with it.
  const warm = node.logs.find((l) => l.event === "warm");
  if (warm) expect(existsSync(warm.sessionFolder)).toBe(false);
  expect(node.logs.at(-1)).toMatchObject({ event: "exit", reason: "unassigned", code });
  expect(edge.linkAttempts.filter((a) => a.sessionId === node.sessionId)).toEqual([]);
}

const pageSize = "[innerWidth, innerHeight]";

describe("a warm member", () => {
  it("boots, says warm, and once assigned opens its session link, closes its pool link with assigned and is ready", async () => {
    const { node, stop } = await startReadyNode({ edge });
    const m = node.memberId;
    const s = node.sessionId;
    expect(edge.poolMessages(m, "warm")).toEqual([{ t: "warm", browserVersion: expect.stringMatching(/^Chrome\//) }]);
    await expect.poll(() => edge.poolCloses.filter((c) => c.memberId === m)).toEqual([expect.objectContaining({ code: 1000, reason: "assigned" })]);
    const order = edge.timeline.filter((e) => e.includes(m) || e.includes(s));
    expect(order).toEqual([`pool-open ${m}`, `warm ${m}`, `assign ${m}`, `link-open ${s}`, `pool-close ${m} ${PoolLinkClose.assigned.code} assigned`]);
    // The log names the member until the assignment, the session after it; no token is ever logged.
    expect(node.logs.find((l) => l.event === "warm")).toMatchObject({ memberId: m });
    expect(node.logs.find((l) => l.event === "warm").sessionId).toBeUndefined();
    expect(node.logs.find((l) => l.event === "ready")).toMatchObject({ memberId: m, sessionId: s, warm: true });
    // The session works in the folder made while warm, and it goes when the session ends.
    const { sessionFolder } = node.logs.find((l) => l.event === "warm");
    expect(existsSync(`${sessionFolder}/downloads`)).toBe(true);
    expect(JSON.stringify(node.logs)).not.toMatch(/eyJ/);
    expect(edge.messages(s, "ready")).toHaveLength(1);
    await stop();
    expect(existsSync(sessionFolder)).toBe(false);
  });

  it("says `ready` over its pool link while its session link is still opening, then on that link too", async () => {
    const node = await startNode({ edge });
    edge.delayLinks.set(node.sessionId, 1000); // its assignment comes once it is warm, after this
    try {
      const ready = await edge.waitFor(node.sessionId, "ready", 60_000);
      const ahead = edge.poolReceived.find((r) => r.memberId === node.memberId && r.message.t === "ready");
      expect(ahead?.message).toEqual(ready);
      const onLink = edge.received.find((r) => r.sessionId === node.sessionId && r.message.t === "ready")!;
      expect(onLink.at - ahead!.at).toBeGreaterThan(500); // the pool had it while the link was held
      expect((await node.waitForLog("ready")).readyAhead).toBe(true);
      await expect.poll(() => edge.poolCloses.filter((c) => c.memberId === node.memberId)).toEqual([expect.objectContaining({ code: 1000, reason: "assigned" })]);
    } finally {
      node.child.kill("SIGTERM");
      await node.exited;
    }
  });

  it("leaves with exit 0, its Chromium gone, when the pool retires it (4011)", async () => {
    const node = await startNode({ edge, assign: false });
    await edge.waitForPool(node.memberId, "warm");
    edge.closePoolLink(node.memberId, PoolLinkClose.retired.code, PoolLinkClose.retired.reason);
    await expectLeft(node, 0);
  });

  it("leaves with exit 0 when its pool link drops before an assignment", async () => {
    const node = await startNode({ edge, assign: false });
    await edge.waitForPool(node.memberId, "warm");
    edge.closePoolLink(node.memberId);
    await expectLeft(node, 0);
  });

  it("exits 1 with one clear line when the edge refuses its bootstrap token", async () => {
    const node = await startNode({ edge, bootstrapToken: await edge.bootstrapToken(crypto.randomUUID()) });
    await expectLeft(node, 1);
    expect(edge.poolLinkAttempts.filter((a) => a.memberId === node.memberId)).toEqual([{ memberId: node.memberId, status: 401 }]);
    expect(node.stderr().trim().split("\n")).toEqual([expect.stringMatching(/refused the pool link's bootstrap token: HTTP 401/)]);
  });

  it("exits 0 on SIGTERM while warm", async () => {
    const node = await startNode({ edge, assign: false });
    await edge.waitForPool(node.memberId, "warm");
    node.child.kill("SIGTERM");
    await expectLeft(node, 0);
  });
});

describe("settings applied live to a warm browser", () => {
  it("sizes the page to the viewport, also a page created after the assignment", async () => {
    const viewport = { width: 1280, height: 800 };
    const { node, cdpUrl, stop } = await startReadyNode({ edge, keepAlive: true, browserSettings: { viewport } });
    expect(node.logs.filter((l) => l.event === "browser-started")).toHaveLength(1); // no relaunch
    const browser = await chromium.connectOverCDP(cdpUrl);
    const context = browser.contexts()[0];
    expect(await context.pages()[0].evaluate(pageSize)).toEqual([viewport.width, viewport.height]);
    const later = await context.newPage();
    expect(await later.evaluate(pageSize)).toEqual([viewport.width, viewport.height]);
    const cdp = await browser.newBrowserCDPSession();
    const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
    const created = context.pages().find((p) => (p as any)._delegate?._targetId === targetId) ?? (await context.waitForEvent("page"));
    expect(await created.evaluate(pageSize)).toEqual([viewport.width, viewport.height]);
    await browser.close();
    await stop();
  });

  it("gives a session without a viewport the default one, page for page", async () => {
    const { cdpUrl, stop } = await startReadyNode({ edge, keepAlive: true });
    const browser = await chromium.connectOverCDP(cdpUrl);
    const context = browser.contexts()[0];
    expect(await context.pages()[0].evaluate(pageSize)).toEqual([DEFAULT_VIEWPORT.width, DEFAULT_VIEWPORT.height]);
    expect(await (await context.newPage()).evaluate(pageSize)).toEqual([DEFAULT_VIEWPORT.width, DEFAULT_VIEWPORT.height]);
    await browser.close();
    await stop();
  });

  it("loads the session's extension into the running browser: its content script runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wc-ext-"));
    writeFileSync(
      join(dir, "manifest.json"),
      JSON.stringify({ manifest_version: 3, name: "wc-test", version: "1.0", content_scripts: [{ matches: ["<all_urls>"], js: ["cs.js"], run_at: "document_start" }] }),
    );
    writeFileSync(join(dir, "cs.js"), 'document.documentElement.dataset.wcExtension = "loaded";');
    execFileSync("zip", ["-q", "-r", join(dir, "ext.zip"), "manifest.json", "cs.js"], { cwd: dir });
    const sessionId = crypto.randomUUID();
    edge.blobs.set(`${sessionId}/extension`, readFileSync(join(dir, "ext.zip")));
    const { node, cdpUrl, stop } = await startReadyNode({ edge, sessionId, keepAlive: true, browserSettings: { extensionId: "ext-1" } });
    expect(node.logs.filter((l) => l.event === "browser-started")).toHaveLength(1); // no relaunch
    expect(node.logs.find((l) => l.event === "extension-loaded")).toMatchObject({ extensionId: "ext-1" });
    const browser = await chromium.connectOverCDP(cdpUrl);
    const page = await browser.contexts()[0].newPage();
    await page.goto(site.url);
    expect(await page.evaluate("document.documentElement.dataset.wcExtension")).toBe("loaded");
    await browser.close();
    await stop();
  });

  it("relaunches Chromium for a saved context, on its seeded profile", async () => {
    const profile = mkdtempSync(join(tmpdir(), "wc-ctx-"));
    writeFileSync(join(profile, "wc-marker"), "from the saved context");
    execFileSync("tar", ["-czf", join(profile, "..", "ctx.tar.gz"), "-C", profile, "."]);
    const sessionId = crypto.randomUUID();
    edge.blobs.set(`${sessionId}/context`, readFileSync(join(profile, "..", "ctx.tar.gz")));
    const { node, started, stop } = await startReadyNode({ edge, sessionId, keepAlive: true, browserSettings: { context: { id: "ctx-1" } } });
    const launches = node.logs.filter((l) => l.event === "browser-started");
    expect(launches).toHaveLength(2);
    expect(node.logs.find((l) => l.event === "context-profile")).toMatchObject({ contextId: "ctx-1", restored: true });
    expect(chromiumLeft(launches[0].profileDir, launches[0].pid)).toEqual([]); // the warm one is gone
    expect(readFileSync(join(started.profileDir, "wc-marker"), "utf8")).toBe("from the saved context");
    await stop();
  });
});

describe("single use", () => {
  it("two sessions on two members share nothing: a cookie set in one is absent in the other", async () => {
    const first = await startReadyNode({ edge, keepAlive: true });
    const second = await startReadyNode({ edge, keepAlive: true });
    const a = await chromium.connectOverCDP(first.cdpUrl);
    await a.contexts()[0].addCookies([{ name: "wc", value: "first", url: site.url }]);
    expect((await a.contexts()[0].cookies(site.url)).map((c) => c.name)).toEqual(["wc"]);
    const b = await chromium.connectOverCDP(second.cdpUrl);
    expect(await b.contexts()[0].cookies(site.url)).toEqual([]);
    expect(second.started.profileDir).not.toBe(first.started.profileDir);
    await a.close();
    await b.close();
    await first.stop();
    await second.stop();
  });
});

describe("a reserved member (the cold path)", () => {
  it("waits for its assignment and launches once, with the session's settings", async () => {
    const viewport = { width: 900, height: 700 };
    const { node, cdpUrl, stop } = await startReadyNode({ edge, reserved: true, keepAlive: true, browserSettings: { viewport } });
    expect(node.memberId).toBe(node.sessionId);
    const launches = node.logs.filter((l) => l.event === "browser-started");
    expect(launches).toHaveLength(1);
    expect(node.logs.findIndex((l) => l.event === "assigned")).toBeLessThan(node.logs.indexOf(launches[0]));
    expect(readFileSync(`/proc/${launches[0].pid}/cmdline`, "latin1")).toContain(`--window-size=${viewport.width},`);
    expect(node.logs.find((l) => l.event === "ready")).toMatchObject({ warm: false });
    const browser = await chromium.connectOverCDP(cdpUrl);
    expect(await browser.contexts()[0].pages()[0].evaluate(pageSize)).toEqual([viewport.width, viewport.height]);
    await browser.close();
    await stop();
  });
});
