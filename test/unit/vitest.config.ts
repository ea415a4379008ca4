import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The pure logic, unit by unit, in plain Node: no workerd, no Chromium, no network. Each module
// here is one the edge or the node also runs end to end; these tests take its edge cases, which
// the end-to-end suites would reach only slowly. A module that imports `cloudflare:*` cannot load
// here, which keeps the logic under test free of I/O.
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
  },
});
