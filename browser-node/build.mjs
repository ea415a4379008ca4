// `npm run build:node`: bundles the browser node into one file, dist/browser-node/main.mjs,
// so the image carries Node and that file only (no node_modules, no dev dependencies).
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { writeAdHostList } from "./egress/ad-host-list.mjs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
// rrweb's `record()` alone, which the recorder (artifacts/recorder.ts) injects into pages, goes
// beside the node's bundle as a file read when recording starts: the image has no node_modules,
// and inlined as a string literal it would cost the node ~5 MB of RSS whether it records or not.
// Without the replayer rrweb is 195 KB instead of 282 KB, and every document compiles it: measured
// in Chromium 156, a fresh renderer loads it in 15 ms instead of 40.
mkdirSync(`${root}dist/browser-node`, { recursive: true });
await build({
  stdin: { contents: 'export { record } from "rrweb";', resolveDir: root },
  outfile: `${root}dist/browser-node/rrweb-record.js`,
  bundle: true,
  platform: "browser",
  format: "cjs", // module.exports.record, as recorder.ts's wrapper expects
  target: "es2020",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
});

// blockAds' host list (egress/ad-hosts.ts reads it beside the bundle), from a maintained package.
writeAdHostList(`${root}dist/browser-node/ad-hosts.txt`);

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
