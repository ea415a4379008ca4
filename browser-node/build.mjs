// `npm run build:node`: bundles the browser node into one file, dist/browser-node/main.mjs, and
// its command start.mjs (which sets V8's compile mode before it loads main.mjs: start.ts), so the
// image carries Node and these files only (no node_modules, no dev dependencies).
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { writeAdHostList } from "./egress/ad-host-list.mjs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
/**
 * rrweb 2.0's check for pages that patched the DOM's prototypes lists Element's methods
 * `querySelector` and `querySelectorAll` among its accessors, so the check always fails and every
 * `record()` fetches "clean" prototypes from a hidden iframe it appends and removes: ~12 ms of a
 * ~35 ms start on a blank page (Chromium 150), in every recorded document, and the iframe Chromium
 * refused in its own error page (artifacts/recorder.ts). The upstream fix (rrweb-io/rrweb#1802,
 * open) moves them to the methods; this applies it to each copy in rrweb's bundle, and fails the
 * build when the text it fixes is no longer there (a new rrweb: check whether it still needs it).
 */
const untaintedElementFix = {
  name: "rrweb-untainted-element",
  setup(b) {
    b.onLoad({ filter: /[\\/]rrweb[\\/]dist[\\/]rrweb\.js$/ }, async ({ path }) => {
      const source = await readFile(path, "utf8");
      const accessors = /Element: \[\s*"shadowRoot",\s*"querySelector",\s*"querySelectorAll"\s*\]/g;
      const copies = source.match(accessors)?.length ?? 0;
      if (!copies) throw new Error("rrweb: Element's accessor list changed; see untaintedElementFix in build.mjs");
      let methods = 0;
      const fixed = source
        .replace(accessors, 'Element: ["shadowRoot"]')
        .replace(/(var testableMethods\S* = \{[^}]*?)Element: \[\]/g, (_, before) => (methods++, `${before}Element: ["querySelector", "querySelectorAll"]`));
      if (methods !== copies) throw new Error(`rrweb: ${copies} accessor lists but ${methods} method lists fixed; see untaintedElementFix in build.mjs`);
      return { contents: fixed, loader: "js" };
    });
  },
};

// rrweb's `record()` alone, which the recorder (artifacts/recorder.ts) injects into pages, goes
// beside the node's bundle as a file read when recording starts: the image has no node_modules,
// and inlined as a string literal it would cost the node ~5 MB of RSS whether it records or not.
// Without the replayer rrweb is 195 KB instead of 282 KB, and every document compiles it: measured
// in Chromium 156, a fresh renderer loads it in 15 ms instead of 40.
mkdirSync(`${root}dist/browser-node`, { recursive: true });
await build({
  stdin: { contents: 'export { record } from "rrweb";', resolveDir: root },
  plugins: [untaintedElementFix],
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

/** The node's own code for Node 20, as an ES module. */
const forNode = { bundle: true, platform: "node", format: "esm", target: "node20", minify: true, legalComments: "none", logLevel: "warning" };

await build({
  ...forNode,
  entryPoints: [`${root}browser-node/main.ts`],
  outfile: `${root}dist/browser-node/main.mjs`,
  sourcemap: "linked",
  // ws loads these native accelerators only if present; the node runs without them.
  external: ["bufferutil", "utf-8-validate"],
  // Bundled CommonJS dependencies (ws) still call require().
  banner: { js: 'import { createRequire as __wcRequire } from "node:module"; const require = __wcRequire(import.meta.url);' },
});

// The command: a few lines that must run before V8 parses main.mjs (start.ts says why).
await build({ ...forNode, entryPoints: [`${root}browser-node/start.ts`], outfile: `${root}dist/browser-node/start.mjs` });
