// The host list behind `blockAds`, extracted at build time (build.mjs) from @adguard/dnr-rulesets
// (GPL-3.0; republished as AdGuard's filters change): the rules of AdGuard Base (ads, ruleset 2)
// and Tracking Protection (trackers, ruleset 3) that block a whole host (`||host^`, whatever the
// resource type or party) and nothing else. Rules with conditions on the page (initiator
// domains, methods, paths) are left out: the proxy sees only the host it is asked for.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const PACKAGE = "@adguard/dnr-rulesets";
const RULESETS = [2, 3];
const WHOLE_HOST = /^\|\|([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)\^$/;
const CONDITIONS_OF_A_WHOLE_HOST = new Set(["urlFilter", "resourceTypes", "domainType"]);

/** The package's folder, found as require() would find it (its exports name no CommonJS entry). */
function packageDir() {
  const paths = createRequire(import.meta.url).resolve.paths(PACKAGE) ?? [];
  const dir = paths.map((p) => join(p, PACKAGE)).find((d) => existsSync(join(d, "dist/filters/declarative")));
  if (!dir) throw new Error(`${PACKAGE} is not installed: blockAds needs its filter lists (npm install)`);
  return dir;
}

/** Every whole-host block rule's host, sorted, one per line. */
export function adHostList() {
  const dir = packageDir();
  const hosts = new Set();
  for (const id of RULESETS) {
    const rules = JSON.parse(readFileSync(join(dir, `dist/filters/declarative/ruleset_${id}/ruleset_${id}.json`), "utf8"));
    for (const { action, condition } of rules) {
      if (action?.type !== "block" || !condition) continue;
      if (!Object.keys(condition).every((k) => CONDITIONS_OF_A_WHOLE_HOST.has(k))) continue;
      const host = WHOLE_HOST.exec(condition.urlFilter ?? "")?.[1];
      if (host) hosts.add(host);
    }
  }
  if (hosts.size < 10_000) throw new Error(`${PACKAGE}: only ${hosts.size} ad and tracker hosts found; the package's layout changed`);
  // The hosts are ASCII, so this order (UTF-16 code units) is the bytewise one the node's search uses.
  return [...hosts].sort().join("\n");
}

/** Writes the list to `file` unless it is already newer than the package's rulesets (the parse takes ~1 s). */
export function writeAdHostList(file) {
  const dir = packageDir();
  const newest = Math.max(...RULESETS.map((id) => statSync(join(dir, `dist/filters/declarative/ruleset_${id}/ruleset_${id}.json`)).mtimeMs));
  if (existsSync(file) && statSync(file).mtimeMs > newest) return;
  writeFileSync(file, adHostList());
}
