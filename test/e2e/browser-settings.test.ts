import Browserbase from "@browserbasehq/sdk";
import { chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import type { LocalPlatform } from "../../browser-node/local/platform.ts";
import { DEFAULT_VIEWPORT } from "../../edge/browser-settings.ts";
import { platformProcesses, startPlatform, usePlatform } from "./helpers.ts";

// Browser settings through the SDK and the whole local platform: what the edge accepts, the
// node starts with; and a node that refuses its configuration fails the create at once.
describe("browser settings end to end", () => {
  const t = usePlatform();

  it("sizes the browser by a viewport that gives only its width, the height being the default's", async () => {
    const created = await t.bb.sessions.create({ browserSettings: { viewport: { width: 1280 } } });
    expect(created.status).toBe("RUNNING");
    const browser = await chromium.connectOverCDP(created.connectUrl);
    try {
      const page = browser.contexts()[0].pages()[0] ?? (await browser.contexts()[0].newPage());
      await page.goto(`${t.pages.url}/viewport`);
      // The viewport is the page's, as Browserbase means it: the window is as much larger as its toolbars take.
      const size = await page.evaluate("({ width: innerWidth, height: innerHeight, windowWidth: outerWidth })");
      expect(size).toEqual({ width: 1280, height: DEFAULT_VIEWPORT.height, windowWidth: 1280 });
    } finally {
      await browser.close();
    }
    await t.bb.sessions.update(created.id, { status: "REQUEST_RELEASE" });
  });

  it("refuses a viewport side out of bounds with a 400 naming it, starting no node", async () => {
    const bb = new Browserbase({ apiKey: t.platform.apiKey, baseURL: t.platform.edgeUrl, maxRetries: 0 });
    const before = t.platform.standIn.tasks.size;
    const error = await bb.sessions.create({ browserSettings: { viewport: { height: 50 } } }).catch((e) => e);
    expect(error).toBeInstanceOf(Browserbase.BadRequestError);
    expect(error.message).toMatch(/browserSettings\.viewport\.height/);
    expect(t.platform.standIn.tasks.size).toBe(before);
  });
});

describe("a node that refuses its configuration", () => {
  let platform: LocalPlatform | undefined;
  afterAll(async () => {
    await platform?.stop();
  });

  it("reports why, so the create fails at once with the node's reason", async () => {
    // No warm pool: its members could not boot either (they have no session to tell), and this
    // counts the one task the create starts.
    platform = await startPlatform({ warmPoolSize: 0, nodeEnv: { WC_IDLE_GRACE_MS: "soon" } });
    const bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl });
    const error = await bb.sessions.create({}).catch((e) => e);
    expect(error).toBeInstanceOf(Browserbase.APIError);
    expect(error.status).toBe(502);
    // From the node's exit report; without it the edge learns only that the task stopped.
    expect(error.message).toMatch(/The browser node could not start: error \(.*WC_IDLE_GRACE_MS/);
    expect(platform.standIn.tasks.size).toBe(1);
    const [task] = platform.standIn.tasks.values();
    await expect.poll(() => task.lastStatus, { timeout: 15_000 }).toBe("STOPPED");
    expect(platformProcesses(platform).length).toBe(0);
    const [session] = await bb.sessions.list();
    expect(session.status).toBe("ERROR");
  });
});
