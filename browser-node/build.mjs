// `npm run build:node`: bundles the browser node into one file, dist/browser-node/main.mjs,
// so the image carries Node and that file only (no node_modules, no dev dependencies).
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
// rrweb's browser bundle, injected into pages by the recorder (artifacts/recorder.ts), is inlined
// as a string: the image has no node_modules to read it from.
const rrwebMain = createRequire(import.meta.url).resolve("rrweb");
const rrwebBundle = readFileSync(join(dirname(rrwebMain), "rrweb.umd.min.cjs"), "utf8");

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
  define: { __WC_RRWEB__: JSON.stringify(rrwebBundle) },
  logLevel: "warning",
});
