/**
 * A session's settings applied to a browser that is already running (a warm pool member's): the
 * viewport and the extension. Measured on Chromium 156 headless:
 * - Browser.setWindowBounds resizes a window and every tab in it (a page gets the window less
 *   the browser's UI: 87 px of height), but a NEW window (Playwright's newPage, window.open,
 *   Target.createTarget with newWindow) still takes --window-size. So the viewport keeper
 *   auto-attaches to every new target with waitForDebuggerOnStart, sizes its window before its
 *   page runs a line, then lets it run and detaches: clients see the viewport from the start and
 *   no emulation of theirs is touched (the keeper sets none).
 * - Extensions.loadUnpacked works only over --remote-debugging-pipe with
 *   --enable-unsafe-extension-debugging (both in every launch); the extension then runs as if
 *   loaded with --load-extension.
 */
import { SideCdp } from "../artifacts/side-cdp.ts";
import { log } from "../log.ts";
import type { BrowserProcess } from "./browser-process.ts";
import { windowSize } from "./flags.ts";

type Viewport = { width: number; height: number };

export interface ViewportKeeper {
  close(): void;
}

/** Sizes every window, present and future, so its pages are `viewport`; held until `close`. */
export async function keepViewport(browser: Pick<BrowserProcess, "debugPort" | "browserPath">, viewport: Viewport, uiHeight: number): Promise<ViewportKeeper> {
  const cdp = await SideCdp.connect(browser.debugPort, browser.browserPath);
  const bounds = windowSize(viewport, uiHeight);
  const sized = new Set<number>();
  const size = async (targetId: string) => {
    const { windowId } = await cdp.send<{ windowId: number }>("Browser.getWindowForTarget", { targetId });
    if (sized.has(windowId)) return;
    await cdp.send("Browser.setWindowBounds", { windowId, bounds: { windowState: "normal" } }).catch(() => {});
    await cdp.send("Browser.setWindowBounds", { windowId, bounds });
    sized.add(windowId);
  };
  cdp.on((method, params: any) => {
    if (method !== "Target.attachedToTarget") return;
    const { sessionId, targetInfo, waitingForDebugger } = params;
    void (async () => {
      try {
        if (targetInfo.type === "page") await size(targetInfo.targetId);
      } catch (err) {
        log("viewport-not-applied", { problem: err instanceof Error ? err.message : String(err) }, "warn");
      } finally {
        // A paused target runs on whatever happened: a page never waits on the keeper's failure.
        if (waitingForDebugger) await cdp.send("Runtime.runIfWaitingForDebugger", {}, sessionId).catch(() => {});
        await cdp.send("Target.detachFromTarget", { sessionId }).catch(() => {});
      }
    })();
  });
  // The windows that exist already are sized now, before `ready`; later ones as they come.
  const { targetInfos } = await cdp.send<{ targetInfos: Array<{ targetId: string; type: string }> }>("Target.getTargets");
  await Promise.all(targetInfos.filter((t) => t.type === "page").map((t) => size(t.targetId)));
  await cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: true, flatten: true });
  return cdp;
}

/** Loads an unpacked extension into the running browser; returns its id. */
export async function loadExtension(browser: Pick<BrowserProcess, "pipeCall">, dir: string): Promise<string> {
  const { id } = await browser.pipeCall<{ id: string }>("Extensions.loadUnpacked", { path: dir });
  return id;
}
