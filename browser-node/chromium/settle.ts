/**
 * Warm-up: a browser that just started listening answers its first client slowly. Measured on
 * Chromium 156 (2 cores, Playwright's connectOverCDP against the browser endpoint, 3 runs each):
 * right after launch the first connect took 217–385 ms; after a Browser.getVersion alone still
 * ~350 ms; after this module's sequence 41–57 ms, as a second connect always is (15–40 ms).
 * What settles it is what a client's connect does to the first page, once: attach to it, enable
 * Page, Runtime and Network (the renderer's agents and the network service's first use),
 * read its frame tree, evaluate in it. It costs ~230 ms, while no session waits.
 */
import type { SideCdp } from "../artifacts/side-cdp.ts";
import { WINDOW_UI_HEIGHT } from "./flags.ts";

export interface Settled {
  /** Chromium's product string, as `ready` and `warm` carry it ("Chrome/156.0.8078.114"). */
  browserVersion: string;
  /** Pixels of browser UI above a page (outerHeight - innerHeight of the first page). */
  uiHeight: number;
}

/** Settles the browser over `cdp`, which stays open: the session it is assigned takes it over (session.ts). */
export async function settleBrowser(cdp: SideCdp): Promise<Settled> {
  const version = await cdp.send<{ product: string }>("Browser.getVersion");
  const { targetInfos } = await cdp.send<{ targetInfos: Array<{ targetId: string; type: string }> }>("Target.getTargets");
  const page = targetInfos.find((t) => t.type === "page");
  let uiHeight = WINDOW_UI_HEIGHT;
  if (page) {
    const { sessionId } = await cdp.send<{ sessionId: string }>("Target.attachToTarget", { targetId: page.targetId, flatten: true });
    const domains = ["Page", "Runtime", "Network"];
    await Promise.all([...domains.map((d) => cdp.send(`${d}.enable`, {}, sessionId)), cdp.send("Page.getFrameTree", {}, sessionId)]);
    const { result } = await cdp.send<{ result: { value?: unknown } }>(
      "Runtime.evaluate",
      { expression: "outerHeight - innerHeight", returnByValue: true },
      sessionId,
    );
    if (typeof result.value === "number" && result.value >= 0 && result.value < 400) uiHeight = result.value;
    await Promise.all(domains.map((d) => cdp.send(`${d}.disable`, {}, sessionId)));
    await cdp.send("Target.detachFromTarget", { sessionId });
  }
  return { browserVersion: version.product, uiHeight };
}
