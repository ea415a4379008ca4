import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { useTestChromium } from "../support/chromium.ts";

useTestChromium();

// The browser node's suite: plain Node, real Chromium, the node as a real child process.
// One shared node (global-setup.ts) serves the client and token tests; lifecycle tests start
// their own. Two files at a time at most: this machine has two cores and other suites run too.
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/browser-node/**/*.test.ts"],
    environment: "node",
    // Real browsers on a shared 2-core machine: a poll waits at its pace, not expect.poll's default second.
    expect: { poll: { timeout: 10_000 } },
    globalSetup: ["test/browser-node/global-setup.ts"],
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
