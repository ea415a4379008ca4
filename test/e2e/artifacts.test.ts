/**
 * Session artifacts through the whole local platform with the real SDK, real Chromium and real
 * clients: extensions, contexts, downloads, uploads, logs and recording, each also refused (404)
 * to another project's key.
 */
import Browserbase, { toFile } from "@browserbasehq/sdk";
import { unzipSync, strFromU8 } from "fflate";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalPlatform } from "../../browser-node/local/platform.ts";
import { connectCdp, DOWNLOAD_NAME, extensionZip, otherProjectKey, startArtifactSite } from "./fixtures/artifact-site.ts";
import { sessionProcesses, startPlatform } from "./helpers.ts";

describe("session artifacts end to end", () => {
  const marker = crypto.randomUUID();
  let platform: LocalPlatform;
  let bb: Browserbase;
  let other: Browserbase;
  let site: Awaited<ReturnType<typeof startArtifactSite>>;
  beforeAll(async () => {
    platform = await startPlatform();
    bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl });
    other = new Browserbase({ apiKey: await otherProjectKey(platform), baseURL: platform.edgeUrl, maxRetries: 0 });
    site = await startArtifactSite(marker);
  });
  afterAll(async () => {
    await platform?.stop();
    await site?.close();
  });

  /** Releases a session and waits until its node is gone (it ships its artifacts before it exits). */
  async function release(id: string) {
    await bb.sessions.update(id, { status: "REQUEST_RELEASE" });
    await expect.poll(async () => (await sessionProcesses(platform, id)).length, { timeout: 30_000 }).toBe(0);
  }

  it("loads a session's extension: listed enabled by Extensions.getExtensions, its service worker a target", async () => {
    const name = `wc-test-${marker.slice(0, 8)}`;
    const extension = await bb.extensions.create({ file: await toFile(extensionZip(name), "test-extension.zip") });
    await expect(other.extensions.retrieve(extension.id)).rejects.toMatchObject({ status: 404 });

    const session = await bb.sessions.create({ extensionId: extension.id });
    const cdp = await connectCdp(session.connectUrl);
    const { extensions } = await cdp.send("Extensions.getExtensions");
    const loaded = (extensions as any[]).filter((e) => e.name === name);
    expect(loaded).toHaveLength(1);
    expect(loaded[0].enabled).toBe(true);
    await expect
      .poll(async () => ((await cdp.send("Target.getTargets")).targetInfos as any[]).some((t) => t.type === "service_worker" && t.url === `chrome-extension://${loaded[0].id}/sw.js`), {
        timeout: 15_000,
      })
      .toBe(true);
    cdp.close();
    await release(session.id);
    await bb.extensions.delete(extension.id);
  });

  it("saves a context with persist and starts the next session from it (cookie and localStorage)", async () => {
    const context = await bb.contexts.create({ projectId: platform.projectId });
    await expect(other.contexts.retrieve(context.id)).rejects.toMatchObject({ status: 404 });

    const first = await bb.sessions.create({ browserSettings: { context: { id: context.id, persist: true } } });
    const browser = await chromium.connectOverCDP(first.connectUrl);
    const page = browser.contexts()[0].pages()[0] ?? (await browser.contexts()[0].newPage());
    await page.goto(`${site.url}/storage`);
    await page.evaluate(`document.cookie = "wc_marker=${marker}; max-age=86400; path=/"; localStorage.setItem("wc_marker", "${marker}")`);
    await browser.close();
    await release(first.id);

    const second = await bb.sessions.create({ browserSettings: { context: { id: context.id, persist: false } } });
    const again = await chromium.connectOverCDP(second.connectUrl);
    const page2 = again.contexts()[0].pages()[0] ?? (await again.contexts()[0].newPage());
    await page2.goto(`${site.url}/storage`);
    const found = (await page2.evaluate(`({ cookie: document.cookie, stored: localStorage.getItem("wc_marker") })`)) as { cookie: string; stored: string };
    expect(found.cookie).toContain(`wc_marker=${marker}`);
    expect(found.stored).toBe(marker);
    await again.close();
    await release(second.id);
    await bb.contexts.delete(context.id);
  });

  it("starts a session created right after its context's writer was released from that writer's profile", async () => {
    const context = await bb.contexts.create({ projectId: platform.projectId });
    /** Opens the session's page, answers what it finds of the cookies, and sets `cookie` if given. */
    async function visit(connectUrl: string, cookie?: string) {
      const browser = await chromium.connectOverCDP(connectUrl);
      const page = browser.contexts()[0].pages()[0] ?? (await browser.contexts()[0].newPage());
      await page.goto(`${site.url}/storage`);
      const found = (await page.evaluate("document.cookie")) as string;
      if (cookie) await page.evaluate(`document.cookie = "${cookie}; max-age=86400; path=/"`);
      return { found, browser };
    }

    const first = await bb.sessions.create({ browserSettings: { context: { id: context.id, persist: true } } });
    const a = await visit(first.connectUrl, `wc_first=${marker}`);
    await bb.sessions.update(first.id, { status: "REQUEST_RELEASE" });
    // No wait for the first node: the create itself waits for its save.
    const second = await bb.sessions.create({ browserSettings: { context: { id: context.id, persist: true } } });
    const b = await visit(second.connectUrl, `wc_second=${marker}`);
    expect(b.found).toContain(`wc_first=${marker}`);
    await bb.sessions.update(second.id, { status: "REQUEST_RELEASE" });
    const third = await bb.sessions.create({ browserSettings: { context: { id: context.id, persist: false } } });
    const c = await visit(third.connectUrl);
    expect(c.found).toContain(`wc_first=${marker}`);
    expect(c.found).toContain(`wc_second=${marker}`);

    await Promise.all([a, b, c].map(({ browser }) => browser.close()));
    await release(third.id);
    await bb.contexts.delete(context.id);
  });

  it("collects downloads, takes uploads into a file input, and records the CDP log and the pages", async () => {
    const session = await bb.sessions.create({});
    for (const call of [
      () => other.sessions.downloads.list(session.id),
      () => other.sessions.logs.list(session.id),
      () => other.sessions.recording.retrieve(session.id),
      async () => other.sessions.uploads.create(session.id, { file: await toFile(Buffer.from("x"), "x.txt") }),
    ]) {
      await expect(call()).rejects.toMatchObject({ status: 404 });
    }
    // Playwright sets a download folder of its own; the node collects the file all the same.
    const browser = await chromium.connectOverCDP(session.connectUrl);
    const page = browser.contexts()[0].pages()[0] ?? (await browser.contexts()[0].newPage());
    // The browser's first page is recorded too, though its instrumenting waits until the node is ready.
    await page.evaluate(`document.body.textContent = ${JSON.stringify(`first page ${marker}`)}`);
    await page.goto(`${site.url}/download`);
    const download = page.waitForEvent("download");
    await page.click("#dl");
    await (await download).path();
    await expect
      .poll(
        async () => {
          const zip = unzipSync(new Uint8Array(await (await bb.sessions.downloads.list(session.id)).arrayBuffer()));
          return zip[DOWNLOAD_NAME] ? strFromU8(zip[DOWNLOAD_NAME]) : undefined;
        },
        { timeout: 20_000 },
      )
      .toBe(`report ${marker}`);

    // Uploads: the path in the answer, set on the page's file input over CDP (as a remote client must).
    const uploaded = await bb.sessions.uploads.create(session.id, { file: await toFile(Buffer.from(`notes ${marker}`), "notes.txt") });
    const path = /at (\/\S+?): set that path/.exec(uploaded.message)?.[1];
    expect(path).toMatch(/\/notes\.txt$/);
    await page.goto(`${site.url}/upload`);
    const cdpSession = await browser.contexts()[0].newCDPSession(page);
    const { root } = await cdpSession.send("DOM.getDocument");
    const { nodeId } = await cdpSession.send("DOM.querySelector", { nodeId: root.nodeId, selector: "#f" });
    await cdpSession.send("DOM.setFileInputFiles", { nodeId, files: [path!] });
    await expect.poll(() => page.title(), { timeout: 10_000 }).toBe(`got notes.txt: notes ${marker}`);
    // A name the edge must shorten, cut right after a space: the node takes the name the edge sends as it is.
    const long = await bb.sessions.uploads.create(session.id, { file: await toFile(Buffer.from("long"), `${"n".repeat(254)} tail`) });
    expect(/at (\/\S+?): set that path/.exec(long.message)?.[1]).toMatch(new RegExp(`/${"n".repeat(254)}$`));

    // The log: a command of our own, with its session and result.
    await page.goto(`${site.url}/recorded`);
    const cdp = await connectCdp(session.connectUrl);
    const target = ((await cdp.send("Target.getTargets")).targetInfos as any[]).find((t) => t.type === "page" && t.url.endsWith("/recorded"));
    const { sessionId } = await cdp.send("Target.attachToTarget", { targetId: target.targetId, flatten: true });
    const evaluated = await cdp.send("Runtime.evaluate", { expression: `"${marker}".length * 2`, returnByValue: true }, sessionId);
    expect(evaluated.result.value).toBe(72);
    cdp.close();
    await browser.close();
    await release(session.id);

    const logs = await bb.sessions.logs.list(session.id);
    const mine = logs.find((e) => e.method === "Runtime.evaluate" && (e.request?.params as any)?.expression === `"${marker}".length * 2`);
    expect(mine).toMatchObject({ sessionId, response: { result: { result: { type: "number", value: 72 } } } });
    expect(mine!.pageId).toBeGreaterThan(0);
    expect(typeof mine!.request!.timestamp).toBe("number");
    expect(logs.some((e) => e.method === "DOM.setFileInputFiles")).toBe(true);

    const recording = await bb.sessions.recording.retrieve(session.id);
    const snapshot = recording.find((e) => e.type === 2 && JSON.stringify(e.data).includes("recorded text"));
    expect((snapshot as { pageId?: string } | undefined)?.pageId).toBe(target.targetId); // the SDK's type has no pageId
    expect(recording.some((e) => e.type === 4 && (e.data as any).href === `${site.url}/recorded`)).toBe(true);
    expect(JSON.stringify(recording)).toContain(`first page ${marker}`);
  });

  it("records nothing with logSession and recordSession false", async () => {
    const session = await bb.sessions.create({ browserSettings: { logSession: false, recordSession: false } });
    const browser = await chromium.connectOverCDP(session.connectUrl);
    const page = browser.contexts()[0].pages()[0] ?? (await browser.contexts()[0].newPage());
    await page.goto(`${site.url}/quiet`);
    expect(await page.title()).toBe("page /quiet");
    await browser.close();
    await release(session.id);
    expect(await bb.sessions.logs.list(session.id)).toEqual([]);
    expect(await bb.sessions.recording.retrieve(session.id)).toEqual([]);
  });
});
