/**
 * What a session asks of its egress, in one place for session.ts: the settings it applies (from
 * the node's configuration; from the assignment once the warm pool exists), Chromium's
 * certificate policy (set over CDP, so a browser already running needs no relaunch), and the
 * `proxyBytes` reports that let a running session's count grow at the edge.
 */
import { ARTIFACT_FLUSH_INTERVAL_MS, type NodeUsage, type ProxyRoute } from "../../edge/node-protocol.ts";
import type { EdgeArtifacts } from "../artifacts/edge-artifacts.ts";
import { SideCdp } from "../artifacts/side-cdp.ts";
import type { BrowserSettings } from "../config.ts";
import { log } from "../log.ts";
import type { Egress, EgressSettings } from "./egress.ts";

export function egressSettings(settings: BrowserSettings, proxies: ProxyRoute[]): EgressSettings {
  return { proxies, allowedDomains: settings.allowedDomains, blockAds: settings.blockAds === true };
}

/**
 * `ignoreCertificateErrors`: browser-wide, for every page and context, present and future. The
 * override lasts as long as the CDP connection that set it (measured: closing it restores
 * certificate checks), so it is held open until the session ends.
 */
export async function applyCertificatePolicy(browser: { debugPort: number; browserPath: string }, settings: BrowserSettings): Promise<{ close(): void }> {
  if (settings.ignoreCertificateErrors !== true) return { close() {} };
  const cdp = await SideCdp.connect(browser.debugPort, browser.browserPath);
  try {
    await cdp.send("Security.setIgnoreCertificateErrors", { ignore: true });
  } catch (error) {
    cdp.close();
    throw error;
  }
  return cdp;
}

/** Posts the session's usage every ARTIFACT_FLUSH_INTERVAL_MS while it changes; `stop` returns the final count for `exit`. */
export function reportUsage(egress: Egress, edge: Pick<EdgeArtifacts, "postBatch">): { stop(): NodeUsage } {
  let reported = 0;
  let sending = false;
  const timer = setInterval(async () => {
    const usage = egress.usage();
    if (sending || usage.proxyBytes === reported) return;
    sending = true;
    try {
      const res = await edge.postBatch("usage", JSON.stringify(usage satisfies NodeUsage));
      if (res.status >= 200 && res.status < 300) reported = usage.proxyBytes;
      else log("usage-refused", { status: res.status }, "warn");
    } catch (error) {
      log("usage-undelivered", { problem: error instanceof Error ? error.message : String(error) }, "warn");
    } finally {
      sending = false;
    }
  }, ARTIFACT_FLUSH_INTERVAL_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return egress.usage();
    },
  };
}
