import Browserbase from "@browserbasehq/sdk";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { connectCdp } from "./fixtures/artifact-site.ts";
import { sessionProcesses, usePlatform } from "./helpers.ts";

// The Browserbase SDK, unmodified, against the whole local platform.
describe("@browserbasehq/sdk against the local platform", () => {
  const t = usePlatform();

  async function sessionLife(bb: Browserbase) {
    const marker = crypto.randomUUID();
    const created = await bb.sessions.create({ keepAlive: true, userMetadata: { suite: "sdk", run: { marker } } });
    expect(created.status).toBe("RUNNING");
    expect(created.projectId).toBe(t.platform.projectId);
    // Edge mode (the default): CDP goes through the edge, under /cdp/<session>, never to a node's port.
    expect(created.connectUrl).toBe(`${t.platform.edgeUrl.replace(/^http/, "ws")}/cdp/${created.id}?signingKey=${encodeURIComponent(created.signingKey)}`);
    expect(created.signingKey).toBeTruthy();
    expect(created.seleniumRemoteUrl).toBeTruthy();
    expect(Object.values(created).includes(null)).toBe(false);

    const retrieved = await bb.sessions.retrieve(created.id);
    expect(retrieved).toMatchObject({ id: created.id, status: "RUNNING", keepAlive: true, userMetadata: { suite: "sdk", run: { marker } } });

    const running = await bb.sessions.list({ status: "RUNNING" });
    expect(running.map((s) => s.id)).toContain(created.id);
    expect(running.every((s) => s.status === "RUNNING")).toBe(true);
    const byMetadata = await bb.sessions.list({ q: `user_metadata['run']['marker']:'${marker}'` });
    expect(byMetadata.map((s) => s.id)).toEqual([created.id]);

    // The browser really is there: the debug URLs name its live page by CDP target id.
    const browser = await chromium.connectOverCDP(created.connectUrl);
    const page = browser.contexts()[0].pages()[0] ?? (await browser.contexts()[0].newPage());
    await page.goto(`${t.pages.url}/sdk-${marker}`);
    const debug = await bb.sessions.debug(created.id);
    expect(debug.debuggerFullscreenUrl).toBeTruthy();
    expect(debug.wsUrl).toBeTruthy();
    const listed = debug.pages.find((p) => p.url.endsWith(`/sdk-${marker}`));
    expect(listed?.title).toBe(`page /sdk-${marker}`);
    expect(listed?.id).toMatch(/^[0-9A-F]{32}$/);
    expect(listed!.debuggerUrl.startsWith(`${t.platform.edgeUrl}/cdp/${created.id}/devtools/inspector.html?ws=`)).toBe(true);
    expect(listed!.debuggerFullscreenUrl.startsWith(`${t.platform.edgeUrl}/live/${created.id}?token=`)).toBe(true); // the live view (live-view.test.ts)
    expect(debug.wsUrl.split("?")[0]).toBe(created.connectUrl.split("?")[0]); // its own token, valid as long
    const inspector = await fetch(listed!.debuggerUrl);
    expect(inspector.status).toBe(200);
    expect(await inspector.text()).toContain("<html");
    // The socket the frontend opens from that URL (its `ws=` parameter, token included) reaches the page through the edge.
    const pageSocket = await connectCdp(`ws://${new URL(listed!.debuggerUrl).searchParams.get("ws")}`);
    expect((await pageSocket.send("Runtime.evaluate", { expression: "document.title", returnByValue: true })).result.value).toBe(`page /sdk-${marker}`);
    pageSocket.close();
    await browser.close();

    const released = await bb.sessions.update(created.id, { status: "REQUEST_RELEASE", projectId: t.platform.projectId });
    expect(released.id).toBe(created.id);
    await expect.poll(async () => (await bb.sessions.retrieve(created.id)).status, { timeout: 20_000 }).toBe("COMPLETED");
    const ended = await bb.sessions.retrieve(created.id);
    expect(ended.endedAt).toBeTruthy();
    await expect.poll(async () => (await sessionProcesses(t.platform, created.id)).length, { timeout: 20_000 }).toBe(0);
  }

  it("runs a session's whole life through baseURL", async () => {
    await sessionLife(new Browserbase({ apiKey: t.platform.apiKey, baseURL: t.platform.edgeUrl }));
  });

  it("runs a session's whole life through BROWSERBASE_BASE_URL", async () => {
    process.env.BROWSERBASE_BASE_URL = t.platform.edgeUrl;
    try {
      await sessionLife(new Browserbase({ apiKey: t.platform.apiKey }));
    } finally {
      delete process.env.BROWSERBASE_BASE_URL;
    }
  });

  it("raises the SDK's own errors for a wrong key and an unknown session", async () => {
    const wrongKey = new Browserbase({ apiKey: "bb_live_not-a-key", baseURL: t.platform.edgeUrl, maxRetries: 0 });
    await expect(wrongKey.sessions.list()).rejects.toBeInstanceOf(Browserbase.AuthenticationError);
    const bb = new Browserbase({ apiKey: t.platform.apiKey, baseURL: t.platform.edgeUrl, maxRetries: 0 });
    await expect(bb.sessions.retrieve(crypto.randomUUID())).rejects.toBeInstanceOf(Browserbase.NotFoundError);
  });

  // For measuring the local entry layer apart (bench/cdp-edge): the same edge, reached past it.
  it("tells workerd's own address, where the same edge answers past the local entry layer", async () => {
    const { workerdUrl, edgeUrl, apiKey, projectId } = t.platform;
    expect(workerdUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new URL(workerdUrl!).port).not.toBe(new URL(edgeUrl).port);
    const res = await fetch(`${workerdUrl}/v1/projects/${projectId}`, { headers: { "X-BB-API-Key": apiKey } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(projectId);
  });
});
