/**
 * The session recorder (browser-node/artifacts/recorder.ts) in a real Chromium, with a client
 * browsing as sessions do: pages are recorded, Chromium's own network error page is not, and a
 * tab that met an error page lives on; rrweb runs on pages that allow no eval, and what a client
 * puts in the first page is recorded even when it navigates away at once; a recorder attached
 * while warm and removed (`recordSession: false`) leaves nothing running.
 */
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SideCdp } from "../../browser-node/artifacts/side-cdp.ts";
import type { RecordingEvent } from "../../edge/node-protocol.ts";
import { Recorder } from "../../browser-node/artifacts/recorder.ts";
import { launchBrowser } from "../../browser-node/chromium/browser-process.ts";
import { serveSite, type Site } from "./support/site.ts";
import { freePort } from "../../browser-node/local/tasks.ts";

let side: SideCdp;
let client: Browser;
let site: Site;

/** A Chromium with the recorder's own connection (as the node holds one) and a client's. */
async function launchWithClient() {
  const browser = await launchBrowser({ executable: process.env.WC_CHROMIUM_PATH ?? "/usr/lib/chromium/chromium", settings: {}, timeoutMs: 20_000, extras: { offline: true } });
  const side = await SideCdp.connect(browser.debugPort, browser.browserPath);
  const client = await chromium.connectOverCDP(`ws://127.0.0.1:${browser.debugPort}${browser.browserPath}`);
  const close = async () => {
    await client.close();
    side.close();
    await browser.stop();
  };
  return { browser, side, client, close };
}

let closeBrowser: (() => Promise<void>) | undefined;
beforeAll(async () => {
  site = await serveSite();
  ({ side, client, close: closeBrowser } = await launchWithClient());
});
afterAll(async () => {
  await closeBrowser?.();
  await site?.close();
});

it("records the pages a client opens but not Chromium's error page, whose tab goes on to the next page", async () => {
  const recorder = new Recorder(side);
  await recorder.attach();
  const page = client.contexts()[0].pages()[0];
  let crashed = false;
  page.on("crash", () => (crashed = true));

  const failed = await page.goto(`http://127.0.0.1:${await freePort()}/gone`).then(
    () => "loaded",
    (e: Error) => /net::[A-Z_]+/.exec(e.message)?.[0] ?? e.message,
  );
  expect(failed).toBe("net::ERR_CONNECTION_REFUSED");
  // The error page is the tab's document now: the recorder's script has run in it, or chosen not to.
  // rrweb started there used to get the renderer killed ("Blocked URL about:blank"), and this evaluate failed.
  await expect.poll(() => page.evaluate("location.protocol")).toBe("chrome-error:");

  await page.goto(`${site.url}recorded`);
  expect(await page.title()).toBe("wallcrawler test");
  const documents = recordedDocuments(recorder);
  await expect.poll(documents).toContain(`${site.url}recorded`);
  // Neither the blank page it attached to, nor the error page.
  expect(documents()).toEqual([`${site.url}recorded`]);
  expect(crashed).toBe(false);
});

/** The documents a recorder has recorded so far (its meta events, type 4, name each). */
function recordedDocuments(recorder: Recorder): () => string[] {
  const recorded: RecordingEvent[] = [];
  return () => {
    recorded.push(...recorder.take(1000, 64 * 1024 * 1024));
    return recorded.filter((e) => e.type === 4).map((e) => (e.data as { href: string }).href);
  };
}

it("starts rrweb in a page without appending an iframe to it (its check for patched prototypes passes on a plain page)", async () => {
  const recorder = new Recorder(side);
  await recorder.attach();
  const page = await client.contexts()[0].newPage();
  // Before any script of the page, in its own world: every iframe ever put into the document.
  await page.addInitScript(`window.framesAdded = 0;
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) if (n.nodeName === "IFRAME") window.framesAdded++;
    }).observe(document, { childList: true, subtree: true });`);
  await page.goto(`${site.url}plain`);
  const documents = recordedDocuments(recorder);
  await expect.poll(documents).toContain(`${site.url}plain`);
  // rrweb 2.0 as published appends (and removes) one to fetch prototypes it wrongly thinks patched (build.mjs).
  expect(await page.evaluate("framesAdded")).toBe(0);
  await page.close();
});

it("records a page whose CSP allows no eval and requires Trusted Types (rrweb is compiled in the recorder's own world)", async () => {
  const recorder = new Recorder(side);
  await recorder.attach();
  const page = await client.contexts()[0].newPage();
  await page.goto(`${site.url}strict-csp`);
  const documents = recordedDocuments(recorder);
  await expect.poll(documents).toContain(`${site.url}strict-csp`);
  await page.close();
});

it("records what a client puts in the first page, blank at the attach, though it navigates away at once", async () => {
  // A browser of its own: its first page must be untouched when the recorder attaches, as at a session's `ready`.
  const fresh = await launchWithClient();
  try {
    const recorder = new Recorder(fresh.side);
    await recorder.attach();
    const page = fresh.client.contexts()[0].pages()[0];
    await page.evaluate(`document.body.textContent = "written into the first page"`);
    await page.goto(`${site.url}next`);
    const recorded: RecordingEvent[] = [];
    await expect.poll(() => (recorded.push(...recorder.take(1000, 64 * 1024 * 1024)), recorded.some((e) => e.type === 4 && (e.data as { href: string }).href === `${site.url}next`))).toBe(true);
    expect(JSON.stringify(recorded)).toContain("written into the first page");
  } finally {
    await fresh.close();
  }
});

it("removed after a warm attach, records nothing and leaves nothing to start in the first page or the next", async () => {
  const fresh = await launchWithClient();
  const probe = await SideCdp.connect(fresh.browser.debugPort, fresh.browser.browserPath);
  try {
    const recorder = new Recorder(fresh.side);
    await recorder.attach(); // as a warm member does
    const page = fresh.client.contexts()[0].pages()[0];
    const targetId = (await probe.send<{ targetInfos: { targetId: string; type: string }[] }>("Target.getTargets")).targetInfos.find((t) => t.type === "page")!.targetId;
    expect(await recorderWorld(probe, targetId)).toBe("armed");

    await recorder.remove(); // the session records nothing
    await page.evaluate(`document.body.textContent = "written into the first page"`);
    // The observer that would have started rrweb on that write is disarmed.
    expect(await recorderWorld(probe, targetId)).toBe("removed");
    await page.goto(`${site.url}next`);
    expect(await page.title()).toBe("wallcrawler test");
    // The script is off new documents: the recorder's world is not even made.
    expect(await recorderWorld(probe, targetId)).toBeUndefined();
    expect(recorder.take(1000, 64 * 1024 * 1024)).toEqual([]);
  } finally {
    probe.close();
    await fresh.close();
  }
});

/** The recorder's state (`__wallcrawlerRecording`) in a page's current document, seen from a CDP connection of the test's own. */
async function recorderWorld(probe: SideCdp, targetId: string): Promise<string | undefined> {
  const { sessionId } = await probe.send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
  const worlds: number[] = [];
  probe.on((method, params, from) => {
    if (from === sessionId && method === "Runtime.executionContextCreated" && params.context.name === "wallcrawler-recorder") worlds.push(params.context.id);
  });
  try {
    await probe.send("Runtime.enable", {}, sessionId); // reports every context the page has, in every world
    if (!worlds.length) return undefined;
    const { result } = await probe.send<{ result: { value?: string } }>("Runtime.evaluate", { expression: "window.__wallcrawlerRecording", contextId: worlds.at(-1), returnByValue: true }, sessionId);
    return result.value;
  } finally {
    await probe.send("Target.detachFromTarget", { sessionId });
  }
}
