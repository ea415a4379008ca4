/** A real headless Chromium, launched as a browser node launches it, standing in for a node's target list in debug tests. */
import { launchBrowser } from "../../../browser-node/chromium/browser-process.ts";

export async function startChromium(): Promise<{ port: number; close(): Promise<void> }> {
  const browser = await launchBrowser({
    executable: process.env.WC_CHROMIUM_PATH ?? "/usr/lib/chromium/chromium",
    settings: {},
    timeoutMs: 20_000,
    // It browses nothing: its own background requests must not send a DNS query off the machine.
    extras: { offline: true },
  });
  return { port: browser.debugPort, close: () => browser.stop() };
}
