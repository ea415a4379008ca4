/**
 * live-view: the live view through the real local platform (edge mode: screencast frames relayed
 * by the edge), watched by a Chromium of the benchmark's own on 127.0.0.1.
 * - Frame latency: the remote page turns a new colour and notes when it painted (its rAF after the
 *   change, epoch ms); the viewer's page notes when its canvas first drew that colour (drawImage
 *   wrapped by an init script; same machine, same clock). p50 and p95 over the rounds.
 * - fps: frames the viewer drew per second while the remote page animates all the time.
 * - CPU: the node process's and Chromium's CPU while the page animates, with 0, 1 and 2 viewers;
 *   the row is the node's extra CPU per viewer (percent of one core), Chromium's beside it.
 * Goals: p50 ≤ 100 ms, ≥ 15 fps.
 */
import Browserbase from "@browserbasehq/sdk";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Page } from "playwright-core";
import { OFFLINE_RESOLVER_RULES } from "../../browser-node/chromium/flags.ts";
import { memberProcesses } from "../../browser-node/local/processes.ts";
import { CHROMIUM } from "../../test/browser-node/support/node-process.ts";
import { startPlatformChild } from "../platform-child.ts";
import { cpuMicros } from "../process-cpu.ts";
import { summarize, type BenchRow } from "../report.ts";

const ROUNDS = Number(process.env.BENCH_LIVE_ROUNDS ?? 40);
const WINDOW_MS = 5000;
const COLOURS = [[230, 30, 30], [30, 200, 30], [30, 30, 230], [230, 230, 30], [30, 220, 220], [220, 30, 220]];

/** The remote page: a colour on demand (`paint(i)` resolves with its paint time), or animating. */
const REMOTE = `<!doctype html><body style="margin:0;height:100vh"><canvas id="c" width="200" height="100"></canvas><script>
window.paint = (i) => new Promise((resolve) => { document.body.style.background = ${JSON.stringify(COLOURS.map((c) => `rgb(${c})`))}[i];
  requestAnimationFrame(() => resolve(Date.now())); });
window.animate = () => { const g = document.getElementById("c").getContext("2d"); let n = 0;
  (function tick() { g.fillStyle = "hsl(" + (n++ % 360) + ",80%,50%)"; g.fillRect(0, 0, 200, 100); requestAnimationFrame(tick); })(); };
</script>`;

/** In the viewer: every drawn frame's time and the colour at its bottom-left corner. */
const VIEWER_PROBE = `(() => {
  window.__drawn = [];
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...args) {
    draw.apply(this, args);
    const c = this.canvas;
    if (c.id === "screen") window.__drawn.push([Date.now(), ...this.getImageData(5, c.height - 5, 1, 1).data.slice(0, 3)]);
  };
})();`;

const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 40);

function nodeAndChromium(memberId: string) {
  const pids = memberProcesses(memberId);
  const isChromium = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("chrom");
  return { node: pids.filter((p) => !isChromium(p)), chromium: pids.filter(isChromium) };
}

async function cpuPercent(pids: { node: number[]; chromium: number[] }) {
  const sum = (list: number[]) => list.reduce((total, pid) => total + (() => { try { return cpuMicros(pid); } catch { return 0; } })(), 0);
  const [n0, c0, t0] = [sum(pids.node), sum(pids.chromium), performance.now()];
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const ms = performance.now() - t0;
  return { node: ((sum(pids.node) - n0) / 1000 / ms) * 100, chromium: ((sum(pids.chromium) - c0) / 1000 / ms) * 100 };
}

export default async function run(): Promise<BenchRow[]> {
  const site = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(REMOTE));
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  const platform = await startPlatformChild();
  const viewerBrowser = await chromium.launch({ executablePath: CHROMIUM, args: [`--host-resolver-rules=${OFFLINE_RESOLVER_RULES}`] });
  const bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl, maxRetries: 0 });
  const session = await bb.sessions.create({ keepAlive: true });
  const agent = await chromium.connectOverCDP(session.connectUrl);
  try {
    const remote = agent.contexts()[0].pages()[0] ?? (await agent.contexts()[0].newPage());
    await remote.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    const { debuggerFullscreenUrl } = await bb.sessions.debug(session.id);
    const openViewer = async (): Promise<Page> => {
      const page = await viewerBrowser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.addInitScript(VIEWER_PROBE);
      await page.goto(debuggerFullscreenUrl);
      await page.waitForSelector("body[data-frames]");
      return page;
    };
    const drawn = (page: Page) => page.evaluate("window.__drawn") as Promise<number[][]>;

    // Latency: one colour change at a time, each waited for.
    const viewer = await openViewer();
    const latencies: number[] = [];
    for (let round = 0; round < ROUNDS + 3; round++) {
      const colour = round % COLOURS.length;
      const seen = (await drawn(viewer)).length;
      const painted = (await remote.evaluate(`paint(${colour})`)) as number;
      const deadline = Date.now() + 5000;
      let shown: number | undefined;
      while (shown === undefined && Date.now() < deadline) {
        shown = (await drawn(viewer)).slice(seen).find(([, ...rgb]) => near(rgb, COLOURS[colour]))?.[0];
        if (shown === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (shown !== undefined && round >= 3) latencies.push(shown - painted); // the first rounds warm up
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
    }
    await viewer.close();

    // fps and CPU while the page animates: with no viewer, one, two.
    await remote.evaluate("animate()");
    const pids = nodeAndChromium(await platform.memberOf(session.id));
    const idle = await cpuPercent(pids);
    const first = await openViewer();
    const framesBefore = (await drawn(first)).length;
    const one = await cpuPercent(pids);
    const fps = ((await drawn(first)).length - framesBefore) / (WINDOW_MS / 1000);
    const second = await openViewer();
    const two = await cpuPercent(pids);
    await first.close();
    await second.close();

    const latency = summarize(latencies);
    console.error(`[bench] live-view: latency p50 ${latency.p50} ms p95 ${latency.p95} ms (n=${latency.n}); fps ${fps.toFixed(1)}; CPU % node ${idle.node.toFixed(1)}/${one.node.toFixed(1)}/${two.node.toFixed(1)}, chromium ${idle.chromium.toFixed(1)}/${one.chromium.toFixed(1)}/${two.chromium.toFixed(1)} (0/1/2 viewers)`);
    return [
      { bench: "live-view", metric: "frame latency p50 (paint → drawn)", unit: "ms", subject: latency.p50, goal: { value: 100, better: "lower" } },
      { bench: "live-view", metric: "frame latency p95", unit: "ms", subject: latency.p95 },
      { bench: "live-view", metric: "fps, page animating", unit: "fps", subject: fps, goal: { value: 15, better: "higher" } },
      { bench: "live-view", metric: "node CPU, 1 viewer (baseline: none)", unit: "%", baseline: idle.node, subject: one.node },
      { bench: "live-view", metric: "node CPU, 2nd viewer (baseline: 1)", unit: "%", baseline: one.node, subject: two.node },
      { bench: "live-view", metric: "Chromium CPU, 1 viewer (baseline: none)", unit: "%", baseline: idle.chromium, subject: one.chromium },
    ];
  } finally {
    await agent.close().catch(() => {});
    await bb.sessions.update(session.id, { status: "REQUEST_RELEASE" }).catch(() => {});
    await viewerBrowser.close();
    await platform.stop();
    site.close();
  }
}
