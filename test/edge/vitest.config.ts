/**
 * The edge's suite: tests run inside workerd with the real Worker, Durable Objects and KV
 * (@cloudflare/vitest-pool-workers), against servers that global-setup.ts starts in Node.
 */
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { useTestChromium } from "../support/chromium.ts";

// The real Chromium behind the fake node, kept off the network (test/support/chromium.sh).
useTestChromium();

const root = fileURLToPath(new URL("../..", import.meta.url));

export default defineConfig({
  root,
  plugins: [
    cloudflareTest(({ inject }) => {
      const secrets = inject("secrets");
      const standIn = inject("standInUrl");
      const ecs = inject("ecsUrl");
      return {
        main: "./edge/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ...secrets,
            ECS_ENDPOINT: ecs,
            EC2_ENDPOINT: standIn,
            ECS_SUBNETS: "subnet-test",
            ECS_SECURITY_GROUPS: "sg-test",
            EDGE_PUBLIC_URL: "http://edge.test",
            // The suite's creates take the cold path (a member reserved for each, started by its
            // session). pool.test.ts turns the pool on for pools of its own: a pool takes its
            // size from the Worker that calls it (edge/pool/pool-settings.ts).
            WARM_POOL_SIZE: "0",
            // The operator's managed proxies (egress.test.ts): nothing listens there, no test dials them.
            MANAGED_PROXIES: JSON.stringify({ "*": "http://managed:managed-secret@127.0.0.1:3998", US: "http://managed:us-secret@127.0.0.1:3999" }),
          },
        },
      };
    }),
  ],
  test: {
    include: ["test/edge/**/*.test.ts"],
    globalSetup: ["test/edge/node/global-setup.ts"],
    testTimeout: 30_000,
    // The edge's per-request info lines; warnings and errors still show.
    onConsoleLog: (line) => !line.startsWith('{"level":"info"'),
    hookTimeout: 60_000,
  },
});
