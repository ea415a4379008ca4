/**
 * `npm run bench`: runs every benchmark of the project (each folder here with a `run.ts`), one
 * after another on this machine, and prints one table. Each benchmark measures its own baseline in
 * the same run, so the ratios hold on a shared, noisy machine. `npm run bench -- cdp-proxy` runs
 * only the named ones.
 */
import { existsSync, readdirSync } from "node:fs";
import { printTable, type BenchRow } from "./report.ts";

const here = new URL(".", import.meta.url);
const names = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(new URL(`${d.name}/run.ts`, here)))
  .map((d) => d.name)
  .sort();

const only = process.argv.slice(2);
const unknown = only.filter((name) => !names.includes(name));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(", ")}; there are: ${names.join(", ")}`);
  process.exit(2);
}

const rows: BenchRow[] = [];
for (const name of names) {
  if (only.length && !only.includes(name)) continue;
  console.error(`[bench] ${name} ...`);
  const bench: { default: () => Promise<BenchRow[]> } = await import(new URL(`${name}/run.ts`, here).href);
  rows.push(...(await bench.default()));
}
printTable(rows);
