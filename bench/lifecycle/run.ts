/**
 * The shape of the public BrowserArena benchmark, on the local platform: create a session →
 * connectOverCDP → go to a local page → release. 5 warm-ups, then 30 measured runs one at a time
 * (c1) and ten at a time (c10). In the same run, between the c1 runs, a bare Chromium launch until
 * `/json/version` answers: the floor a cold create is compared with. Each bare launch waits until
 * the last session's node has stopped, so neither side shares the machine with a stopping browser.
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
import { DEFAULT_CHROMIUM, startLocalPlatform } from "../../browser-node/local/platform.ts";
import { freePort } from "../../browser-node/local/tasks.ts";
import { launchFlags } from "../../browser-node/chromium/flags.ts";
import { summarize, type BenchRow } from "../report.ts";
import { Failures, step } from "./failures.ts";

const WARMUPS = 5;
const RUNS = 30;
const STAGES = ["create", "connect", "goto", "release", "total"] as const;
type Timings = Record<(typeof STAGES)[number], number>;

export default async function run(): Promise<BenchRow[]> {
  const pageServer = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<title>bench</title>ok"));
  await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
  const pageUrl = `http://127.0.0.1:${(pageServer.address() as { port: number }).port}/`;
  const verbose = process.env.WALLCRAWLER_VERBOSE === "1";
  const platform = await startLocalPlatform({
    concurrency: 10,
    nodeEnv: { WC_EGRESS_OFFLINE: "1" },
    onNodeOutput: verbose ? (line) => console.error(`[node] ${line}`) : undefined,
    logLevel: verbose ? "info" : "warn",
  });
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

  const rows: BenchRow[] = [];
  try {
    const warmupFailures = new Failures("warm-up");
    for (let i = 0; i < WARMUPS; i++) await measure([], warmupFailures);
    const c1: Timings[] = [];
    const bare: number[] = [];
    const c1Failures = new Failures("c1");
    for (let i = 0; i < RUNS; i++) {
      // The last session's node may still be stopping its browser: let it finish, so the bare
      // launch and the create both run on a quiet machine.
      await waitForNoTasksRunning(platform.standIn.tasks);
      bare.push(await bareLaunch());
      await measure(c1, c1Failures);
    }
    await waitForNoTasksRunning(platform.standIn.tasks);

    await Promise.all(Array.from({ length: WARMUPS }, () => measure([], warmupFailures)));
    await waitForNoTasksRunning(platform.standIn.tasks);
    const c10: Timings[] = [];
    const c10Failures = new Failures("c10");
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next++ < RUNS) await measure(c10, c10Failures);
      }),
    );

    const bareP = summarize(bare);
    for (const [label, samples, failures] of [["c1", c1, c1Failures], ["c10", c10, c10Failures]] as const) {
      for (const stage of STAGES) {
        const s = summarize(samples.map((t) => t[stage]));
        const isCreate = stage === "create";
        rows.push({
          bench: "lifecycle",
          metric: `${label} ${stage} p50${isCreate && label === "c1" ? " vs bare launch" : ""}`,
          unit: "ms",
          subject: s.p50,
          ...(isCreate && label === "c1" ? { baseline: bareP.p50, goal: { ratio: 1.2, better: "lower" as const } } : {}),
        });
        rows.push({ bench: "lifecycle", metric: `${label} ${stage} p95`, unit: "ms", subject: s.p95 });
      }
      rows.push({
        bench: "lifecycle",
        metric: `${label} success`,
        unit: "%",
        subject: (100 * samples.length) / (samples.length + failures.total),
        goal: { value: 100, better: "higher" },
      });
      rows.push(...failures.rows("lifecycle"));
    }
    rows.push(...warmupFailures.rows("lifecycle"));
    rows.push({ bench: "lifecycle", metric: "bare Chromium launch p95", unit: "ms", subject: bareP.p95 });
  } finally {
    await platform.stop();
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

async function waitForNoTasksRunning(tasks: Map<string, { lastStatus: string }>) {
  while ([...tasks.values()].some((t) => t.lastStatus !== "STOPPED")) await new Promise((r) => setTimeout(r, 100));
}
