// `npm run build:node`: bundles the browser node into one file, dist/browser-node/main.mjs,
// so the image carries Node and that file only (no node_modules, no dev dependencies).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

await build({
  entryPoints: [`${root}browser-node/main.ts`],
  outfile: `${root}dist/browser-node/main.mjs`,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  legalComments: "none",
  minify: true,
  // ws loads these native accelerators only if present; the node runs without them.
  external: ["bufferutil", "utf-8-validate"],
  // Bundled CommonJS dependencies (ws) still call require().
  banner: { js: 'import { createRequire as __wcRequire } from "node:module"; const require = __wcRequire(import.meta.url);' },
  logLevel: "warning",
});
