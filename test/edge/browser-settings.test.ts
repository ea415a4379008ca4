/**
 * The edge lets through only browser settings its nodes take: a viewport with a side left out is
 * filled from the default before the node sees it, and the edge's schema agrees with the rules the
 * node checks by (edge/browser-settings.ts) on every case below.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_VIEWPORT, VIEWPORT_BOUNDS, normalizeBrowserSettings } from "../../edge/browser-settings.ts";
import { BrowserSettings } from "../../edge/schemas/session.ts";
import { api, newProject, standInCalls, startSession } from "./helpers.ts";

describe("a viewport with a side left out", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  const known = new Set<string>();
  beforeAll(async () => {
    project = await newProject({ name: "viewports", concurrency: 10 });
  });

  it.each([
    [{ width: 1280 }, { width: 1280, height: DEFAULT_VIEWPORT.height }],
    [{ height: 900 }, { width: DEFAULT_VIEWPORT.width, height: 900 }],
    [{}, DEFAULT_VIEWPORT],
  ])("creates the session with %j, filled to %j for the node", async (viewport, filled) => {
    const { created, node } = await startSession(project.key, project.projectId, { browserSettings: { viewport, blockAds: true } }, known);
    expect(created.status).toBe(201);
    expect(node.assignment.browserSettings).toEqual({ viewport: filled, blockAds: true });
  });

  it("leaves a session that names no viewport without one (the node sizes its window by the default)", async () => {
    const { created, node } = await startSession(project.key, project.projectId, { browserSettings: { blockAds: true } }, known);
    expect(created.status).toBe(201);
    expect(node.assignment.browserSettings).toEqual({ blockAds: true });
  });

  it.each([
    [{ width: 1280, height: VIEWPORT_BOUNDS.height.min - 1 }, /^browserSettings\.viewport\.height: /],
    [{ width: VIEWPORT_BOUNDS.width.max + 1 }, /^browserSettings\.viewport\.width: /],
    [{ height: 600.5 }, /^browserSettings\.viewport\.height: /],
  ])("refuses %j with a 400 naming the side, starting nothing", async (viewport, message) => {
    const before = (await standInCalls()).length;
    const res = await api(project.key, "POST", "/v1/sessions", { browserSettings: { viewport } });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(message);
    expect((await standInCalls()).length).toBe(before);
  });
});

describe("the edge's schema and the node's rules", () => {
  const cases: unknown[] = [
    {},
    { viewport: { width: 1280 } },
    { viewport: { height: 720 } },
    { viewport: {} },
    { viewport: { width: 1280, height: 720, depth: 1 } },
    { viewport: { width: VIEWPORT_BOUNDS.width.min, height: VIEWPORT_BOUNDS.height.max } },
    { viewport: { width: VIEWPORT_BOUNDS.width.max, height: VIEWPORT_BOUNDS.height.min } },
    { viewport: { width: VIEWPORT_BOUNDS.width.min - 1 } },
    { viewport: { width: VIEWPORT_BOUNDS.width.max + 1 } },
    { viewport: { height: VIEWPORT_BOUNDS.height.min - 1 } },
    { viewport: { height: VIEWPORT_BOUNDS.height.max + 1 } },
    { viewport: { width: 1280.5 } },
    { viewport: { width: "1280" } },
    { viewport: null },
    { viewport: [1280, 720] },
    { extensionId: "" },
    { extensionId: "ext" },
    { context: { id: "ctx", persist: true } },
    { context: { id: "" } },
    { context: { persist: true } },
    { context: { id: "ctx", persist: "yes" } },
    { logSession: false, recordSession: true },
    { logSession: 0 },
    { recordSession: "false" },
    { futureFlag: { anything: 1 } },
  ];

  it.each(cases.map((c) => [c]))("agree on %j", (settings) => {
    const atEdge = BrowserSettings.safeParse(settings);
    const atNode = normalizeBrowserSettings(settings);
    expect("ok" in atNode).toBe(atEdge.success);
    if (!atEdge.success || !("ok" in atNode)) return;
    // What the edge passes on, the node takes as it is: nothing left for the node to fill.
    const passedOn = JSON.parse(JSON.stringify(atEdge.data));
    const taken = normalizeBrowserSettings(passedOn);
    expect(taken).toEqual({ ok: passedOn });
    expect(passedOn.viewport).toEqual(atNode.ok.viewport);
  });
});
