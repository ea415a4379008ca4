/**
 * cdp-proxy: one Chromium, measured direct (its own debugging port), through the node's proxy, and
 * through a bare TCP splice (the reference to beat), all in the same run and interleaved in rounds
 * so a noisy, shared machine hurts every side alike.
 * The node runs as shipped: the esbuild bundle, as a child process.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus } from "node:os";
import { summarize, type BenchRow } from "../report.ts";
import { ROOT } from "../../test/browser-node/support/node-process.ts";
import { startReadyNode } from "../../test/browser-node/support/ready-node.ts";
import { NODE_FLAGS } from "../../browser-node/local/tasks.ts";
import { CdpClient } from "./cdp-client.ts";
import { cpuMicros } from "../process-cpu.ts";
import { FULL_HD, HEAVY_PAGE as PAGE, pipelined, screenshot, sequential } from "../cdp-workloads.ts";

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 5000);
const ROUNDS = 50; // fine interleaving: load from other processes hits both sides alike
const PIPELINED = 10_000;
const IN_FLIGHT = 64;
const SCREENSHOTS = 50;

/** The whole machine's busy and total CPU time so far (all cores, from /proc/stat), in clock ticks. */
const machineCpu = () => {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const idle = ticks[3] + ticks[4]; // idle, iowait
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
};

/**
 * Runs `work` and reports how many of the machine's cores were busy meanwhile (everything: client,
 * Chromium, relay). Near all of them means the test is bound by CPU, so every microsecond a relay
 * spends per message comes out of the throughput.
 */
async function withCoresBusy<T>(work: () => Promise<T>): Promise<{ result: T; coresBusy: number }> {
  const before = machineCpu();
  const result = await work();
  const after = machineCpu();
  return { result, coresBusy: (cpus().length * (after.busy - before.busy)) / (after.total - before.total) };
}

const rssMb = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)![1]);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
};

export default async function run(): Promise<BenchRow[]> {
  execFileSync(process.execPath, [`${ROOT}browser-node/build.mjs`]);
  const site = createServer((_req, res) => res.end(PAGE));
  await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
  const pageUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;

  const ready = await startReadyNode({
    bundle: true,
    connectMode: "direct", // the proxy, measured against Chromium and a raw splice
    nodeFlags: process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? NODE_FLAGS, // as shipped unless said
    // BENCH_BROWSER_SETTINGS: the session's browserSettings (its assignment's), e.g.
    // '{"logSession":false}' to measure the relay without the CDP log's tap (the default logs, as sessions do).
    browserSettings: process.env.BENCH_BROWSER_SETTINGS ? JSON.parse(process.env.BENCH_BROWSER_SETTINGS) : undefined,
  });
  const { node, token } = ready;
  const { debugPort } = ready.started;
  const splice = spawn(process.execPath, ["--import", "tsx", `${ROOT}bench/cdp-proxy/splice-reference.ts`, String(debugPort)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const splicePort = Number(await new Promise<string>((r) => splice.stdout!.once("data", (d) => r(String(d).trim()))));
    const targets = (await (await fetch(`http://127.0.0.1:${debugPort}/json/list`)).json()) as any[];
    const page = targets.find((t) => t.type === "page");
    const direct = await CdpClient.connect(`ws://127.0.0.1:${debugPort}/devtools/page/${page.id}`);
    const proxied = await CdpClient.connect(`ws://127.0.0.1:${ready.port}/devtools/page/${page.id}?signingKey=${token}`);
    const spliced = await CdpClient.connect(`ws://127.0.0.1:${splicePort}/devtools/page/${page.id}`);
    await direct.send("Emulation.setDeviceMetricsOverride", FULL_HD);
    await direct.send("Page.enable");
    await direct.send("Page.navigate", { url: pageUrl });
    await new Promise((r) => setTimeout(r, 1000));

    // Warm every path (JIT, TCP windows) before anything counts.
    await sequential(direct, 300, []);
    await sequential(proxied, 300, []);
    await sequential(spliced, 300, []);

    const rt = { direct: [] as number[], proxied: [] as number[], spliced: [] as number[] };
    let nodeCpu = 0;
    let spliceCpu = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await sequential(direct, SEQUENTIAL / ROUNDS, rt.direct);
      const before = cpuMicros(node.child.pid!);
      await sequential(proxied, SEQUENTIAL / ROUNDS, rt.proxied);
      nodeCpu += cpuMicros(node.child.pid!) - before;
      const beforeSplice = cpuMicros(splice.pid!);
      await sequential(spliced, SEQUENTIAL / ROUNDS, rt.spliced);
      spliceCpu += cpuMicros(splice.pid!) - beforeSplice;
    }
    const tput = { direct: [] as number[], proxied: [] as number[], spliced: [] as number[] };
    const busy = { direct: [] as number[], proxied: [] as number[] };
    let nodeCpuPipelined = 0;
    for (let round = 0; round < 3; round++) {
      const d = await withCoresBusy(() => pipelined(direct, PIPELINED / 2, IN_FLIGHT));
      tput.direct.push(d.result);
      busy.direct.push(d.coresBusy);
      const before = cpuMicros(node.child.pid!);
      const p = await withCoresBusy(() => pipelined(proxied, PIPELINED / 2, IN_FLIGHT));
      nodeCpuPipelined += cpuMicros(node.child.pid!) - before;
      tput.proxied.push(p.result);
      busy.proxied.push(p.coresBusy);
      tput.spliced.push(await pipelined(spliced, PIPELINED / 2, IN_FLIGHT));
    }
    const shots = { direct: [] as number[], proxied: [] as number[] };
    await screenshot(direct, []);
    await screenshot(proxied, []);
    for (let i = 0; i < SCREENSHOTS; i++) {
      await screenshot(direct, shots.direct);
      await screenshot(proxied, shots.proxied);
    }
    const memory = rssMb(node.child.pid!);
    direct.close();
    proxied.close();
    spliced.close();

    const d = summarize(rt.direct);
    const p = summarize(rt.proxied);
    const sp = summarize(rt.spliced);
    const median = (xs: number[]) => summarize(xs).p50;
    return [
      { bench: "cdp-proxy", metric: "Runtime.evaluate round trip p50", unit: "ms", baseline: d.p50, subject: p.p50, goal: { ratio: 1.3, better: "lower" } },
      { bench: "cdp-proxy", metric: "Runtime.evaluate p50: raw splice (reference)", unit: "ms", baseline: d.p50, subject: sp.p50 },
      { bench: "cdp-proxy", metric: "Runtime.evaluate p50: proxy vs raw splice", unit: "ms", baseline: sp.p50, subject: p.p50, goal: { ratio: 1, better: "lower" } },
      { bench: "cdp-proxy", metric: "Runtime.evaluate round trip p99", unit: "ms", baseline: d.p99, subject: p.p99 },
      { bench: "cdp-proxy", metric: "CPU per round trip: node vs raw splice process", unit: "µs", baseline: spliceCpu / rt.spliced.length, subject: nodeCpu / rt.proxied.length },
      { bench: "cdp-proxy", metric: `pipelined throughput (${IN_FLIGHT} in flight)`, unit: "msg/s", baseline: median(tput.direct), subject: median(tput.proxied), goal: { ratio: 0.95, better: "higher" } },
      { bench: "cdp-proxy", metric: "pipelined throughput: raw splice (reference)", unit: "msg/s", baseline: median(tput.direct), subject: median(tput.spliced) },
      { bench: "cdp-proxy", metric: `pipelined: machine cores busy (of ${cpus().length})`, unit: "cores", baseline: median(busy.direct), subject: median(busy.proxied) },
      { bench: "cdp-proxy", metric: "pipelined: node CPU per message", unit: "µs", subject: nodeCpuPipelined / (1.5 * PIPELINED) },
      { bench: "cdp-proxy", metric: "full-HD Page.captureScreenshot p50", unit: "ms", baseline: median(shots.direct), subject: median(shots.proxied), goal: { ratio: 1.03, better: "lower" } },
      { bench: "cdp-proxy", metric: "node process RSS after the run", unit: "MB", subject: memory.rss, goal: { value: 60, better: "lower" } },
      { bench: "cdp-proxy", metric: "node process peak RSS", unit: "MB", subject: memory.peak },
    ];
  } finally {
    splice.kill();
    await ready.stop();
    site.close();
  }
}
