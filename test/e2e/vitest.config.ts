import { defineConfig } from "vitest/config";
import { useTestChromium } from "../support/chromium.ts";

// Every node's Chromium, kept off the network (test/support/chromium.sh).
useTestChromium();

// WC_E2E_WARM_POOL_SIZE sets the platforms' WARM_POOL_SIZE (test/e2e/helpers.ts): CI runs the
// suite with the warm pool on (unset: wrangler.toml's 2) and off (0).
// Node-side tests of the whole platform: real workerd (wrangler), the local ECS stand-in, real
// browser nodes and Chromium, the real clients. Files run one at a time: each starts browsers,
// and this machine has two cores.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts", "test/local/**/*.test.ts"],
    environment: "node",
    // Real browsers on a shared 2-core machine: a poll waits at its pace, not expect.poll's default second.
    expect: { poll: { timeout: 10_000 } },
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
