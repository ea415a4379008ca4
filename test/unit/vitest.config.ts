import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Fast checks in plain Node: no workerd, no Chromium, no network. edge/ holds the edge's pure
// logic, unit by unit: modules the edge also runs end to end, tested here for their edge cases,
// which the end-to-end suites would reach only slowly. A module that imports `cloudflare:*`
// cannot load here, which keeps the logic under test free of I/O. (edge/ is typechecked with the
// edge's tsconfig, the rest with the root's.)
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
  },
});
