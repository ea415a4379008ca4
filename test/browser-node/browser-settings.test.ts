/** The browser-settings rules both sides hold: a side a viewport leaves out is the default's. */
import { describe, expect, it } from "vitest";
import { DEFAULT_VIEWPORT, VIEWPORT_BOUNDS, normalizeBrowserSettings, normalizeViewport } from "../../edge/browser-settings.ts";

describe("normalizeViewport", () => {
  it("fills a side left out from the default, and keeps a side given", () => {
    expect(normalizeViewport({ width: 1280 })).toEqual({ ok: { width: 1280, height: DEFAULT_VIEWPORT.height } });
    expect(normalizeViewport({ height: 900 })).toEqual({ ok: { width: DEFAULT_VIEWPORT.width, height: 900 } });
    expect(normalizeViewport({})).toEqual({ ok: DEFAULT_VIEWPORT });
    expect(normalizeViewport({ width: 1920, height: 1080, depth: 3 })).toEqual({ ok: { width: 1920, height: 1080 } });
  });

  it("takes each side's bounds, inclusive", () => {
    const { width, height } = VIEWPORT_BOUNDS;
    expect(normalizeViewport({ width: width.min, height: height.max })).toEqual({ ok: { width: width.min, height: height.max } });
    expect(normalizeViewport({ width: width.max, height: height.min })).toEqual({ ok: { width: width.max, height: height.min } });
  });

  it.each([
    [{ width: VIEWPORT_BOUNDS.width.min - 1 }, "viewport.width"],
    [{ width: VIEWPORT_BOUNDS.width.max + 1 }, "viewport.width"],
    [{ height: VIEWPORT_BOUNDS.height.max + 1 }, "viewport.height"],
    [{ width: 1280, height: 600.5 }, "viewport.height"],
    [{ width: "1280" }, "viewport.width"],
    [{ width: null }, "viewport.width"],
    [null, "viewport"],
    [[1280, 720], "viewport"],
  ])("refuses %j at %s", (value, at) => {
    const result = normalizeViewport(value);
    expect(result).toMatchObject({ at });
    if (at !== "viewport") {
      const { min, max } = VIEWPORT_BOUNDS[at.endsWith("width") ? "width" : "height"];
      expect(result).toMatchObject({ message: `expected a whole number from ${min} to ${max}` });
    }
  });

  it("never changes the value it was given", () => {
    const given = { width: 1280 };
    normalizeViewport(given);
    expect(given).toEqual({ width: 1280 });
  });
});

describe("normalizeBrowserSettings", () => {
  it("fills the viewport, keeps what it does not apply, and adds no viewport that was not asked for", () => {
    expect(normalizeBrowserSettings({ viewport: { width: 1280 }, blockAds: true, futureFlag: "kept" })).toEqual({
      ok: { viewport: { width: 1280, height: DEFAULT_VIEWPORT.height }, blockAds: true, futureFlag: "kept" },
    });
    expect(normalizeBrowserSettings({})).toEqual({ ok: {} });
  });

  it.each([
    [[1], "(root)"],
    [{ viewport: { height: 50 } }, "viewport.height"],
    [{ extensionId: "" }, "extensionId"],
    [{ context: "ctx" }, "context"],
    [{ context: { persist: true } }, "context.id"],
    [{ context: { id: "c", persist: "yes" } }, "context.persist"],
    [{ logSession: 0 }, "logSession"],
    [{ recordSession: "false" }, "recordSession"],
  ])("refuses %j at %s", (value, at) => {
    expect(normalizeBrowserSettings(value)).toMatchObject({ at });
  });
});
