/**
 * The edge is typechecked against @cloudflare/workers-types (its `latest` entry point, named in
 * edge/tsconfig.json); `wrangler types` generates only the Env (edge/worker-configuration.d.ts,
 * whose freshness `npm run typecheck` checks). Those runtime types describe the runtime the edge
 * runs on only while their release date is workerd's, and cover wrangler.toml's compatibility date.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fromRoot = createRequire(`${root}package.json`);
/** The workerd that wrangler (dev, deploy and the edge tests' miniflare) runs. */
const fromWrangler = createRequire(fromRoot.resolve("wrangler/package.json"));
/** Both packages are versioned <major>.<yyyymmdd>.<patch> after the workerd release they come from. */
const releaseDate = (version: string) => /^\d+\.(\d{8})\.\d+$/.exec(version)?.[1];

it("are workerd's own release, and cover the compatibility date", () => {
  const types = releaseDate(fromRoot("@cloudflare/workers-types/package.json").version);
  const workerd = releaseDate(fromWrangler("workerd/package.json").version);
  expect(types).toMatch(/^\d{8}$/);
  expect(types).toBe(workerd);
  const compatibilityDate = /^compatibility_date\s*=\s*"(\d{4})-(\d{2})-(\d{2})"/m.exec(readFileSync(`${root}wrangler.toml`, "utf8"));
  expect(compatibilityDate).not.toBeNull();
  const date = compatibilityDate!.slice(1).join("");
  expect(date <= types!, `compatibility_date ${date} is newer than the runtime types (${types})`).toBe(true);
  // The pin in package.json is what npm installs; a range would let the two drift apart.
  expect(JSON.parse(readFileSync(`${root}package.json`, "utf8")).devDependencies["@cloudflare/workers-types"]).toBe(fromRoot("@cloudflare/workers-types/package.json").version);
});
