/** What every benchmark returns: rows that compare a subject with its baseline measured in the same run. */
export interface BenchRow {
  bench: string; // e.g. "cdp-proxy"
  metric: string; // e.g. "Runtime.evaluate p50"
  unit: string; // "ms", "msg/s", "MB", "%"
  baseline?: number; // the reference measured side by side (direct Chromium, bare route, bare launch)
  subject: number; // what we ship
  /** The goal as a ratio subject/baseline, a value, or a difference subject − baseline; and which way is good. */
  goal?:
    | { ratio: number; better: "lower" | "higher" }
    | { value: number; better: "lower" | "higher" }
    | { delta: number; better: "lower" | "higher" };
}

export const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

export const summarize = (samples: number[]) => {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), n: s.length };
};

const fmt = (n: number | undefined) =>
  n === undefined ? "" : Number.isNaN(n) ? "n/a" : Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2);

/** Prints one table; a row meets its goal when the ratio (or value) lies on the good side. */
export function printTable(rows: BenchRow[]) {
  const lines = rows.map((r) => {
    const ratio = r.baseline ? r.subject / r.baseline : undefined;
    let goal = "";
    let met = "";
    if (r.goal && "ratio" in r.goal && ratio !== undefined) {
      goal = `${r.goal.better === "lower" ? "≤" : "≥"} ${r.goal.ratio}×`;
      met = (r.goal.better === "lower" ? ratio <= r.goal.ratio : ratio >= r.goal.ratio) ? "yes" : "NO";
    } else if (r.goal && "delta" in r.goal && r.baseline !== undefined) {
      const delta = r.subject - r.baseline;
      goal = `${r.goal.better === "lower" ? "≤" : "≥"} baseline + ${r.goal.delta} ${r.unit}`;
      met = (r.goal.better === "lower" ? delta <= r.goal.delta : delta >= r.goal.delta) ? "yes" : "NO";
    } else if (r.goal && "value" in r.goal) {
      goal = `${r.goal.better === "lower" ? "≤" : "≥"} ${r.goal.value} ${r.unit}`;
      met = (r.goal.better === "lower" ? r.subject <= r.goal.value : r.subject >= r.goal.value) ? "yes" : "NO";
    }
    return [r.bench, r.metric, r.unit, fmt(r.baseline), fmt(r.subject), ratio === undefined ? "" : `${ratio.toFixed(2)}×`, goal, met];
  });
  const head = ["bench", "metric", "unit", "baseline", "subject", "ratio", "goal", "met"];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(row(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(row(l));
}
