import { defineConfig } from "vitest/config";

// Offline tests of the CDK app. One worker without isolation, so the templates that
// fixtures.ts synthesises are shared by every file; the machine's two cores are shared too.
export default defineConfig({
  test: {
    include: ["test/infra/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    maxWorkers: 1,
    isolate: false,
    // aws-cdk-lib's template validator costs seconds a synth and gives the same template; the
    // one validating synth (synth.test.ts runs `npm run synth`) switches it back on.
    env: { CDK_VALIDATION: "false" },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
