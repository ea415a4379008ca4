/**
 * The Chromium every suite starts (WC_CHROMIUM_PATH): the real one behind chromium.sh, which keeps
 * it from resolving Google's service names on its own, so no test sends a packet off loopback.
 * A suite's config calls `useTestChromium()` before anything starts a browser; an explicit
 * WC_CHROMIUM_PATH is left as it is.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const TEST_CHROMIUM = fileURLToPath(new URL("./chromium.sh", import.meta.url));

/** The resolver rules chromium.sh adds after the caller's (its GOOGLE line), one entry per rule. */
export const WRAPPER_RESOLVER_RULES: string[] = /^GOOGLE="([^"]*)"$/m
  .exec(readFileSync(TEST_CHROMIUM, "utf8"))![1]
  .split(",")
  .map((rule) => rule.trim());

export function useTestChromium() {
  process.env.WC_CHROMIUM_PATH ??= TEST_CHROMIUM;
}
