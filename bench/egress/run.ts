/**
 * egress: page loads through a node's egress proxy against the same loads by a Chromium with the
 * same flags and no proxy, interleaved round by round: `goto` of a small local page, and of a
 * page with 50 images (each a request the proxy carries); then the node's RSS with the proxy,
 * and with the blockAds list loaded. The node runs as shipped (the bundle, as a child process).
 * Both browsers are driven over their own debugging ports, so the CDP proxy's cost (its own
 * benchmark) stays out of these figures; the node logs and records nothing for the same reason.
 * Everything stays on 127.0.0.1: the node resolves nothing (WC_EGRESS_OFFLINE) and the direct
 * Chromium's resolver answers nothing but 127.0.0.1.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { launchFlags } from "../../browser-node/chromium/flags.ts";
import { freePort, NODE_FLAGS } from "../../browser-node/local/tasks.ts";
import { CHROMIUM, ROOT } from "../../test/browser-node/support/node-process.ts";
import { startReadyNode } from "../../test/browser-node/support/ready-node.ts";
import { summarize, type BenchRow } from "../report.ts";

const ROUNDS = Number(process.env.BENCH_EGRESS_ROUNDS ?? 100);
const WARMUPS = 10;
const GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

async function firstPage(browser: Browser): Promise<Page> {
  const context = browser.contexts()[0];
  return context.pages()[0] ?? (await context.newPage());
}

/** A Chromium with the nodes' flags, no proxy, and a resolver that answers only loopback. */
async function directChromium() {
  const port = await freePort();
  const profile = mkdtempSync(join(tmpdir(), "wc-bench-profile-"));
  // The node's flags offline, less the egress proxy.
  const flags = launchFlags({}, profile, { offline: true }).map((f) => (f === "--remote-debugging-port=0" ? `--remote-debugging-port=${port}` : f));
  const child = spawn(CHROMIUM, flags, { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"], detached: true });
  for (let i = 0; ; i++) {
    if (await fetch(`http://127.0.0.1:${port}/json/version`).then((r) => r.ok, () => false)) break;
    if (i > 500) throw new Error("the direct Chromium did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
  return {
    browser,
    async stop() {
      await browser.close().catch(() => {});
      process.kill(-child.pid!, "SIGKILL");
      await new Promise((r) => child.once("exit", r));
      rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

async function timeGoto(page: Page, url: string): Promise<number> {
  const t = performance.now();
  await page.goto(url, { waitUntil: "load" });
  return performance.now() - t;
}

export default async function run(): Promise<BenchRow[]> {
  execFileSync(process.execPath, [`${ROOT}browser-node/build.mjs`]);
  const site = createServer((req, res) => {
    if (req.url?.endsWith(".gif")) return res.writeHead(200, { "content-type": "image/gif", "cache-control": "no-store" }).end(GIF);
    res.writeHead(200, { "content-type": "text/html", "cache-control": "no-store" });
    if (req.url?.startsWith("/fifty")) return res.end(`<!doctype html><title>fifty</title>${Array.from({ length: 50 }, (_, i) => `<img src="/i/${i}.gif?${req.url}">`).join("")}`);
    res.end("<!doctype html><title>bench</title><p>ok</p>");
  });
  await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

  // The session's settings come with its assignment (a WC_BROWSER_SETTINGS variable is read by
  // nothing since nodes boot without a session: these loads were recorded and logged, 1.8×).
  const quiet = { logSession: false, recordSession: false };
  // As the image and the local stand-in start it, unless BENCH_NODE_FLAGS says otherwise.
  const nodeFlags = process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? NODE_FLAGS;
  const ready = await startReadyNode({ bundle: true, nodeFlags, browserSettings: quiet });
  const direct = await directChromium();
  const proxiedBrowser = await chromium.connectOverCDP(`http://127.0.0.1:${ready.started.debugPort}`);
  try {
    const pages = { direct: await firstPage(direct.browser), proxied: await firstPage(proxiedBrowser) };
    const small = { direct: [] as number[], proxied: [] as number[] };
    const fifty = { direct: [] as number[], proxied: [] as number[] };
    for (let i = 0; i < WARMUPS; i++) {
      for (const side of ["direct", "proxied"] as const) {
        await timeGoto(pages[side], `${origin}/warm${i}`);
        await timeGoto(pages[side], `${origin}/fifty-warm${i}`);
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which side goes first, so neither always runs right after the other.
      const order = round % 2 ? (["direct", "proxied"] as const) : (["proxied", "direct"] as const);
      for (const side of order) small[side].push(await timeGoto(pages[side], `${origin}/p${round}`));
      for (const side of order) fifty[side].push(await timeGoto(pages[side], `${origin}/fifty${round}`));
    }
    const rss = rssMb(ready.node.child.pid!);
    // V8 gives back what it grew for the loads once the process idles (its memory reducer).
    await new Promise((r) => setTimeout(r, 10_000));
    const rssIdle = rssMb(ready.node.child.pid!);
    const d = { small: summarize(small.direct), fifty: summarize(fifty.direct) };
    const p = { small: summarize(small.proxied), fifty: summarize(fifty.proxied) };
    const rows: BenchRow[] = [
      { bench: "egress", metric: "goto small page p50, egress proxy vs direct", unit: "ms", baseline: d.small.p50, subject: p.small.p50, goal: { ratio: 1.1, better: "lower" } },
      { bench: "egress", metric: "goto small page p95, egress proxy vs direct", unit: "ms", baseline: d.small.p95, subject: p.small.p95 },
      { bench: "egress", metric: "goto page + 50 images p50, egress proxy vs direct", unit: "ms", baseline: d.fifty.p50, subject: p.fifty.p50, goal: { ratio: 1.15, better: "lower" } },
      { bench: "egress", metric: "goto page + 50 images p95, egress proxy vs direct", unit: "ms", baseline: d.fifty.p95, subject: p.fifty.p95 },
      { bench: "egress", metric: "node RSS right after the loads (egress proxy in use)", unit: "MB", subject: rss },
      { bench: "egress", metric: "node RSS 10 s after the loads", unit: "MB", subject: rssIdle, goal: { value: 60, better: "lower" } },
    ];
    await proxiedBrowser.close();
    await ready.stop();
    // The same node with blockAds: the host list in memory and looked up on every request.
    const blocking = await startReadyNode({
      bundle: true,
      nodeFlags,
      browserSettings: { ...quiet, blockAds: true },
    });
    try {
      const browser = await chromium.connectOverCDP(`http://127.0.0.1:${blocking.started.debugPort}`);
      const page = await firstPage(browser);
      for (let i = 0; i < 20; i++) await timeGoto(page, `${origin}/fifty-ads${i}`);
      await new Promise((r) => setTimeout(r, 10_000));
      rows.push({ bench: "egress", metric: "node RSS with blockAds (list loaded), 10 s after 20 loads", unit: "MB", subject: rssMb(blocking.node.child.pid!), goal: { value: 60, better: "lower" } });
      await browser.close();
    } finally {
      await blocking.stop();
    }
    return rows;
  } finally {
    await proxiedBrowser.close().catch(() => {});
    await ready.stop().catch(() => {});
    await direct.stop();
    site.close();
  }
}
