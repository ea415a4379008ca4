/**
 * The Chromium every suite starts (WC_CHROMIUM_PATH): the real one behind chromium.sh, which keeps
 * it from resolving Google's service names on its own, so no test sends a packet off loopback.
 * A suite's config calls `useTestChromium()` before anything starts a browser; an explicit
 * WC_CHROMIUM_PATH is left as it is.
 */
import { fileURLToPath } from "node:url";

export const TEST_CHROMIUM = fileURLToPath(new URL("./chromium.sh", import.meta.url));

export function useTestChromium() {
  process.env.WC_CHROMIUM_PATH ??= TEST_CHROMIUM;
}
