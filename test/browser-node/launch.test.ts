/**
 * What a launched browser runs before any client: its one page and nothing of the browser's own
 * UI. Chromium 156 otherwise loads two omnibox popups at startup (chromium/flags.ts), a
 * renderer's second of CPU that a just-warm member or a cold session's first client met.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type BrowserProcess } from "../../browser-node/chromium/browser-process.ts";
import { CHROMIUM } from "./support/node-process.ts";

describe("a launched browser", () => {
  let browser: BrowserProcess;
  beforeAll(async () => {
    browser = await launchBrowser({ executable: CHROMIUM, settings: {}, timeoutMs: 30_000, extras: { offline: true } });
  });
  afterAll(() => browser?.stop());

  it("runs its about:blank page and no browser UI pages", async () => {
    const targets = async () => {
      const res = await fetch(`http://127.0.0.1:${browser.debugPort}/json/list`);
      return ((await res.json()) as { type: string; url: string }[]).map((t) => `${t.type} ${t.url}`);
    };
    // The popups were there within a second of the browser listening (measured without the flag).
    const seen = new Set<string>();
    const until = Date.now() + 1_500;
    while (Date.now() < until) {
      for (const t of await targets()) seen.add(t);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([...seen]).toEqual(["page about:blank"]);
  });
});
