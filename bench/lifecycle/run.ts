/**
 * The shape of the public BrowserArena benchmark, on the local platform: create a session →
 * connectOverCDP → go to a local page → release. Two phases, each on a platform of its own:
 * warm (a pool of 10; each c1 run starts once a member is warm, each c10 burst once ten are) and
 * cold (no pool: every create starts a node). Each: 5 warm-ups, then 30 measured runs one at a
 * time (c1), three bursts of ten at once (c10), and 30 runs by ten clients that each start the
 * next as soon as theirs ends (c10 sustained). Between the cold c1 runs, a bare Chromium launch until
 * `/json/version` answers: the floor a cold create is compared with. Each run waits until the
 * last session's node has stopped, so none shares the machine with a stopping browser.
 * A run that fails is counted with its step and the client's reason (status and message, or the
 * connection error's causes), one table row per reason. WALLCRAWLER_VERBOSE=1 also prints the
 * nodes' and the edge's logs and each failure as it happens, timestamped, to match them.
 * BENCH_CREATE: the create's body as JSON, e.g. '{"browserSettings":{"recordSession":false}}'.
 */
import Browserbase from "@browserbasehq/sdk";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { DEFAULT_CHROMIUM } from "../../browser-node/local/platform.ts";
import { freePort } from "../../browser-node/local/tasks.ts";
import { launchFlags } from "../../browser-node/chromium/flags.ts";
import { startPlatformChild, type PlatformChild } from "../platform-child.ts";
import { summarize, type BenchRow } from "../report.ts";
import { Failures, step } from "./failures.ts";

const WARMUPS = 5;
const RUNS = 30;
const STAGES = ["create", "connect", "goto", "release", "total"] as const;
type Timings = Record<(typeof STAGES)[number], number>;

/** The platform's warm pool, as its admin API shows it. */
async function warmMembers(platform: PlatformChild): Promise<number> {
  const res = await fetch(`${platform.edgeUrl}/admin/pools`, { headers: { authorization: `Bearer ${platform.adminToken}` } });
  const pools = (await res.json()) as { warm: number }[];
  return pools.reduce((sum, pool) => sum + pool.warm, 0);
}

async function waitForWarm(platform: PlatformChild, count: number) {
  const deadline = Date.now() + 120_000;
  while ((await warmMembers(platform)) < count) {
    if (Date.now() > deadline) throw new Error(`the pool did not get ${count} warm members within 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One platform: warm-ups, then RUNS one at a time and RUNS ten at a time, each labelled. */
async function phase(label: "cold" | "warm", pageUrl: string, rows: BenchRow[]): Promise<void> {
  const verbose = process.env.WALLCRAWLER_VERBOSE === "1";
  const poolSize = label === "warm" ? 10 : 0;
  // In a process of its own: the clients' work (Playwright above all) shares no event loop with
  // the local front door that every create and connect crosses.
  const platform = await startPlatformChild(
    { concurrency: 10, warmPoolSize: poolSize, logLevel: verbose ? "info" : "warn" },
    verbose ? (line) => console.error(`[platform] ${line}`) : undefined,
  );
  const bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl, maxRetries: 0 });

  const once = async (): Promise<Timings> => {
    const t0 = performance.now();
    const session = await step("create", () => bb.sessions.create(process.env.BENCH_CREATE ? JSON.parse(process.env.BENCH_CREATE) : {}));
    const t1 = performance.now();
    let browser: Awaited<ReturnType<typeof chromium.connectOverCDP>> | undefined;
    try {
      browser = await step("connect", () => chromium.connectOverCDP(session.connectUrl));
      const t2 = performance.now();
      await step("goto", async () => {
        const page = browser!.contexts()[0].pages()[0] ?? (await browser!.contexts()[0].newPage());
        await page.goto(pageUrl);
      });
      const t3 = performance.now();
      await step("release", () => bb.sessions.update(session.id, { status: "REQUEST_RELEASE" }));
      const t4 = performance.now();
      return { create: t1 - t0, connect: t2 - t1, goto: t3 - t2, release: t4 - t3, total: t4 - t0 };
    } catch (error) {
      // A failed run must not hold a slot of the project's limit for the runs after it.
      await bb.sessions.update(session.id, { status: "REQUEST_RELEASE" }).catch(() => {});
      throw error;
    } finally {
      await browser?.close().catch(() => {});
    }
  };
  /** Runs once, keeping the timings or why it failed (also said at once in verbose mode, to match the logs). */
  const measure = (samples: Timings[], failures: Failures) =>
    once().then(
      (t) => void samples.push(t),
      (error) => {
        failures.add(error);
        if (verbose) console.error(`[bench] ${new Date().toISOString()} ${failures.label} run failed: ${error.message}`);
      },
    );
  /**
   * Before a run: the machine quiet (no session's node still stopping) and, warm, the pool full
   * again, as a pool sized for its load is between creates: on two cores a member still booting
   * behind the last claim would take the CPU the measured run needs.
   */
  const settle = async () => {
    await waitForSessionTasksStopped(platform);
    if (poolSize) await waitForWarm(platform, poolSize);
  };

  const bare: number[] = [];
  try {
    const warmupFailures = new Failures(`${label} warm-up`);
    for (let i = 0; i < WARMUPS; i++) {
      await settle();
      await measure([], warmupFailures);
    }
    const c1: Timings[] = [];
    const c1Failures = new Failures(`${label} c1`);
    for (let i = 0; i < RUNS; i++) {
      await settle();
      // The cold phase measures a bare Chromium launch between its runs: the floor a cold create is compared with.
      if (label === "cold") bare.push(await bareLaunch());
      await measure(c1, c1Failures);
    }
    // Ten at a time: bursts of ten creates at once, each on a settled machine with the pool full.
    const c10: Timings[] = [];
    const c10Failures = new Failures(`${label} c10`);
    for (let burst = 0; burst < RUNS / 10; burst++) {
      await settle();
      await Promise.all(Array.from({ length: 10 }, () => measure(c10, c10Failures)));
    }
    // Sustained: ten clients, each starting its next run as soon as one ends, RUNS runs in all; warm,
    // the pool of ten is used up by the first ten and the later creates wait for members booting
    // on the same two cores (docs/pool.md: size the pool to the creates within one task start).
    await settle();
    const sustained: Timings[] = [];
    const sustainedFailures = new Failures(`${label} c10 sustained`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next++ < RUNS) await measure(sustained, sustainedFailures);
      }),
    );

    const bareP = summarize(bare);
    const sets = [["c1", c1, c1Failures], ["c10", c10, c10Failures], ["c10 sustained", sustained, sustainedFailures]] as const;
    for (const [conc, samples, failures] of sets) {
      for (const stage of STAGES) {
        const s = summarize(samples.map((t) => t[stage]));
        rows.push({ bench: "lifecycle", metric: `${label} ${conc} ${stage} p50`, unit: "ms", subject: s.p50, ...goalOf(label, conc, stage, "p50", bareP.p50) });
        rows.push({ bench: "lifecycle", metric: `${label} ${conc} ${stage} p95`, unit: "ms", subject: s.p95, ...goalOf(label, conc, stage, "p95") });
      }
      rows.push({
        bench: "lifecycle",
        metric: `${label} ${conc} success`,
        unit: "%",
        subject: (100 * samples.length) / (samples.length + failures.total),
        goal: { value: 100, better: "higher" },
      });
      rows.push(...failures.rows("lifecycle"));
    }
    rows.push(...warmupFailures.rows("lifecycle"));
    if (bare.length) {
      rows.push({ bench: "lifecycle", metric: "bare Chromium launch p50", unit: "ms", subject: bareP.p50 });
      rows.push({ bench: "lifecycle", metric: "bare Chromium launch p95", unit: "ms", subject: bareP.p95 });
    }
  } finally {
    await platform.stop();
  }
}

/** The goals (docs/pool.md): warm figures in ms; the cold create against a bare launch. */
function goalOf(label: string, conc: string, stage: string, p: "p50" | "p95", bareP50?: number): Partial<BenchRow> {
  if (label === "cold" && conc === "c1" && stage === "create" && p === "p50" && bareP50 !== undefined)
    return { baseline: bareP50, goal: { ratio: 1.2, better: "lower" } };
  if (label !== "warm") return {};
  const goals: Record<string, number> = {
    "c1 create p50": 25,
    "c1 create p95": 60,
    "c1 connect p50": 60,
    "c1 total p50": 250,
    "c10 create p95": 150,
  };
  const value = goals[`${conc} ${stage} ${p}`];
  return value === undefined ? {} : { goal: { value, better: "lower" } };
}

export default async function run(): Promise<BenchRow[]> {
  const pageServer = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<title>bench</title>ok"));
  await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
  const pageUrl = `http://127.0.0.1:${(pageServer.address() as { port: number }).port}/`;
  const rows: BenchRow[] = [];
  try {
    // BENCH_LIFECYCLE=warm or =cold runs one phase only.
    const phases = (process.env.BENCH_LIFECYCLE ?? "warm,cold").split(",");
    for (const label of ["warm", "cold"] as const) if (phases.includes(label)) await phase(label, pageUrl, rows);
  } finally {
    pageServer.close();
  }
  return rows;
}

/** Launches Chromium with the nodes' own flags and a fresh profile; the time until /json/version answers. */
async function bareLaunch(): Promise<number> {
  const port = await freePort();
  const profile = mkdtempSync(join(tmpdir(), "wc-bench-profile-"));
  // Offline, as the platform's nodes here: its own background requests send no DNS query off the machine.
  const flags = launchFlags({}, profile, { offline: true }).map((f) => (f === "--remote-debugging-port=0" ? `--remote-debugging-port=${port}` : f));
  const started = performance.now();
  // fd 3/4: the --remote-debugging-pipe the nodes' flags carry, held open as a node holds it.
  const child = spawn(DEFAULT_CHROMIUM, flags, { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"], detached: true });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/json/version`).then((r) => r.ok, () => false);
      if (ok) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    process.kill(-child.pid!, "SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  }
}

/** Waits until every task started for a session (reserved, `wc-`) or claimed from the pool has stopped. */
async function waitForSessionTasksStopped(platform: PlatformChild) {
  while (await platform.sessionTasksBusy()) await new Promise((r) => setTimeout(r, 100));
}
