/**
 * `npm run bench`: runs every benchmark of the project, one after another on this machine, and
 * prints one table. Each benchmark measures its own baseline in the same run, so the ratios hold
 * on a shared, noisy machine. `npm run bench -- cdp-proxy` runs only the named ones.
 */
import { printTable, type BenchRow } from "./report.ts";

const benches: Record<string, () => Promise<{ default: () => Promise<BenchRow[]> }>> = {
  "cdp-proxy": () => import("./cdp-proxy/run.ts"),
  edge: () => import("./edge/run.ts"),
  lifecycle: () => import("./lifecycle/run.ts"),
};

const only = process.argv.slice(2);
const rows: BenchRow[] = [];
for (const [name, load] of Object.entries(benches)) {
  if (only.length && !only.includes(name)) continue;
  console.error(`[bench] ${name} ...`);
  rows.push(...(await (await load()).default()));
}
printTable(rows);
