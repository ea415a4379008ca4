/**
 * Why runs of the lifecycle bench failed: each failure is kept as the step it failed in and what
 * the client said (the HTTP status and message for the API, the error's first line for CDP), so a
 * success rate below 100 % comes with its causes, grouped and counted.
 */
import type { BenchRow } from "../report.ts";

export type Step = "create" | "connect" | "goto" | "release";

/** An error thrown by one step of a run. */
export class StepError extends Error {
  constructor(
    readonly step: Step,
    readonly reason: string,
  ) {
    super(`${step}: ${reason}`);
  }
}

/** Runs one step; whatever it throws becomes a StepError naming the step. */
export async function step<T>(name: Step, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new StepError(name, reasonOf(error));
  }
}

/**
 * The SDK's errors carry the status in their message ("503 …"); others say what failed on their
 * first line. A connection error's message is generic ("Connection error.", "fetch failed"): the
 * chain of causes under it says which (e.g. "other side closed", UND_ERR_SOCKET).
 */
export function reasonOf(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (!(e instanceof Error)) {
      parts.push(String(e));
      break;
    }
    const code = (e as { code?: unknown }).code;
    const text = (e.message.split("\n")[0].trim() || e.name) + (typeof code === "string" && !e.message.includes(code) ? ` [${code}]` : "");
    if (!parts.some((p) => p.includes(text))) parts.push(text);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(" ← ");
}

/** The failures of one set of runs (c1, c10, warm-ups), grouped by step and reason. */
export class Failures {
  private readonly counts = new Map<string, number>();

  constructor(readonly label: string) {}

  add(error: unknown) {
    const key = error instanceof StepError ? error.message : `unknown: ${reasonOf(error)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  get total() {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  /** One row per distinct reason, most frequent first. */
  rows(bench: string): BenchRow[] {
    return [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => ({ bench, metric: `${this.label} failed at ${reason}`, unit: "runs", subject: n }));
  }
}
