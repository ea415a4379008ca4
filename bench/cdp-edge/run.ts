/**
 * cdp-edge: CDP through the edge (edge mode, the default connectUrl) against the same session's
 * Chromium reached directly on its debugging port, on the real local platform: a session created
 * through the SDK, its node dialing the edge. All paths are measured in the same run and
 * interleaved in rounds, so a noisy, shared machine hurts every side alike.
 *
 * The local edge has a front door that a deployed Worker does not (browser-node/local/edge-front.ts,
 * the local platform's own proxy layer): clients' sockets cross it, nodes' do not. A client also
 * connects past it, to the edge Worker's own socket (`workerdUrl`), which measures the front door
 * apart: the rows "past the local front door" are the edge as deployed, less the network. One
 * client offers permessage-deflate (as Playwright does), to show what it gets.
 */
import Browserbase from "@browserbasehq/sdk";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { summarize, type BenchRow } from "../report.ts";
import { CdpClient } from "../cdp-proxy/cdp-client.ts";
import { FULL_HD, HEAVY_PAGE, pipelined, screenshot, sequential } from "../cdp-workloads.ts";
import { connectOverCdpMs, puppeteerConnectMs, socketOpenMs } from "./connect-timing.ts";
import { RELAYS, RelayMeter, type Relay } from "./relays.ts";
import { startPlatformChild } from "../platform-child.ts";

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 4000); // per path
const ROUNDS = 40;
const PIPELINED = 2000; // per path per round
const PIPELINED_ROUNDS = 6;
const IN_FLIGHT = 64;
const SCREENSHOTS = 30;
const CONNECTS = 20;

type PathName = "direct" | "edge" | "edgeDeflate" | "workerd";
const LABEL: Record<PathName, string> = {
  direct: "direct to Chromium",
  edge: "through the edge",
  edgeDeflate: "through the edge, deflate offered",
  workerd: "past the local front door",
};

export default async function run(): Promise<BenchRow[]> {
  const site = createServer((_req, res) => res.end(HEAVY_PAGE));
  await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
  const pageUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  const platform = await startPlatformChild();
  const bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl, maxRetries: 0 });
  const clients: Partial<Record<PathName, CdpClient>> = {};
  let sessionId: string | undefined;
  try {
    // keepAlive: the connects below come and go, and the session must outlive each of them.
    const session = await bb.sessions.create({ keepAlive: true, browserSettings: { viewport: { width: FULL_HD.width, height: FULL_HD.height } } });
    sessionId = session.id;
    const debugPort = await platform.debugPort(session.id);
    const connectUrl = new URL(session.connectUrl);
    if (connectUrl.origin !== platform.edgeUrl.replace(/^http/, "ws")) throw new Error(`connectUrl ${connectUrl.origin} is not the edge's: is CONNECT_MODE edge?`);
    const token = connectUrl.searchParams.get("signingKey")!;
    const direct = `http://127.0.0.1:${debugPort}`;
    const page = ((await (await fetch(`${direct}/json/list`)).json()) as { id: string; type: string }[]).find((t) => t.type === "page")!;
    const pagePath = `${connectUrl.pathname.replace(/\/$/, "")}/devtools/page/${page.id}?signingKey=${encodeURIComponent(token)}`;
    const viaEdge = `${platform.edgeUrl.replace(/^http/, "ws")}${pagePath}`;
    const viaWorkerd = platform.workerdUrl && `${platform.workerdUrl.replace(/^http/, "ws")}${pagePath}`;

    clients.direct = await CdpClient.connect(`ws://127.0.0.1:${debugPort}/devtools/page/${page.id}`);
    clients.edge = await CdpClient.connect(viaEdge);
    clients.edgeDeflate = await CdpClient.connect(viaEdge, { offerDeflate: true });
    if (viaWorkerd) clients.workerd = await CdpClient.connect(viaWorkerd);
    else console.error("[bench] cdp-edge: the platform does not tell workerd's own address; the front door is not measured apart");
    const paths = Object.keys(clients) as PathName[];
    const negotiated = (name: PathName) => clients[name]!.extensions || "none";

    await clients.direct.send("Emulation.setDeviceMetricsOverride", FULL_HD);
    await clients.direct.send("Page.enable");
    await clients.direct.send("Page.navigate", { url: pageUrl });
    await new Promise((r) => setTimeout(r, 1000));

    // What the relays spend while the plain edge path runs, apart for the sequential and pipelined calls.
    const meters = { sequential: RelayMeter.find(platform), pipelined: RelayMeter.find(platform) };
    const { pids } = meters.sequential;
    console.error(`[bench] cdp-edge: relays: node ${pids.node}, edge ${pids.edge}, front door ${pids.entry.join(",") || "not apart"}`);

    for (const name of paths) await sequential(clients[name]!, 300, []); // JIT, TCP windows
    const rt = Object.fromEntries(paths.map((n) => [n, [] as number[]])) as Record<PathName, number[]>;
    for (let round = 0; round < ROUNDS; round++)
      for (const name of rotated(paths, round)) await meters.sequential.measure(name === "edge", () => sequential(clients[name]!, SEQUENTIAL / ROUNDS, rt[name]));

    const tput = Object.fromEntries(paths.map((n) => [n, [] as number[]])) as Record<PathName, number[]>;
    for (let round = 0; round < PIPELINED_ROUNDS; round++)
      for (const name of rotated(paths, round))
        tput[name].push(await meters.pipelined.measure(name === "edge", () => pipelined(clients[name]!, PIPELINED, IN_FLIGHT)));

    const shots = Object.fromEntries(paths.map((n) => [n, [] as number[]])) as Record<PathName, number[]>;
    for (const name of paths) await screenshot(clients[name]!, []);
    for (let i = 0; i < SCREENSHOTS; i++) for (const name of rotated(paths, i)) await screenshot(clients[name]!, shots[name]);

    const browserWs = ((await (await fetch(`${direct}/json/version`)).json()) as { webSocketDebuggerUrl: string }).webSocketDebuggerUrl;
    const workerdConnectUrl = platform.workerdUrl && session.connectUrl.replace(connectUrl.origin, platform.workerdUrl.replace(/^http/, "ws"));
    const connects = await interleaved<PathName>(
      { direct: browserWs, edge: session.connectUrl, ...(workerdConnectUrl ? { workerd: workerdConnectUrl } : {}) },
      CONNECTS,
      connectOverCdpMs,
    );
    const puppeteerConnects = await interleaved({ direct: browserWs, edge: session.connectUrl }, CONNECTS, puppeteerConnectMs);
    const opens = await interleaved({ direct: `ws://127.0.0.1:${debugPort}/devtools/page/${page.id}`, edge: viaEdge }, CONNECTS, socketOpenMs);

    const p50 = (xs: number[]) => summarize(xs).p50;
    const d = summarize(rt.direct);
    const rows: BenchRow[] = [];
    const row = (metric: string, unit: string, baseline: number | undefined, subject: number, goal?: BenchRow["goal"]) =>
      rows.push({ bench: "cdp-edge", metric, unit, ...(baseline === undefined ? {} : { baseline }), subject, ...(goal ? { goal } : {}) });
    // The figures, through the edge as connectUrl reaches it locally (the front door included), then past the front door
    // (the edge as deployed, less the network: the issue asks for the local layer's cost apart, so the round trip's goal shows on both).
    for (const name of (["edge", "workerd"] as const).filter((n) => clients[n])) {
      const main = name === "edge";
      const s = summarize(rt[name]);
      row(`Runtime.evaluate round trip p50, ${LABEL[name]}`, "ms", d.p50, s.p50, { ratio: 1.6, better: "lower" });
      row(`Runtime.evaluate round trip p99, ${LABEL[name]}`, "ms", d.p99, s.p99);
      row(`pipelined (${IN_FLIGHT} in flight), ${LABEL[name]}`, "msg/s", p50(tput.direct), p50(tput[name]));
      row(`full-HD screenshot p50, ${LABEL[name]}`, "ms", p50(shots.direct), p50(shots[name]), main ? { ratio: 1.1, better: "lower" } : undefined);
      if (connects[name]) row(`Playwright connectOverCDP p50, ${LABEL[name]}`, "ms", p50(connects.direct), p50(connects[name]), main ? { delta: 10, better: "lower" } : undefined);
    }
    row("Puppeteer connect p50, through the edge", "ms", p50(puppeteerConnects.direct), p50(puppeteerConnects.edge));
    row("a bare CDP WebSocket open p50, through the edge", "ms", p50(opens.direct), p50(opens.edge));
    row(`Runtime.evaluate round trip p50, ${LABEL.edgeDeflate} (got ${negotiated("edgeDeflate")})`, "ms", d.p50, p50(rt.edgeDeflate));
    if (clients.workerd) {
      // The front door's own cost: the same edge with and without it on the client's side.
      row("local front door's own cost: round trip p50 through it vs past it", "ms", p50(rt.workerd), p50(rt.edge));
      row("local front door's own cost: round trip p99 through it vs past it", "ms", summarize(rt.workerd).p99, summarize(rt.edge).p99);
      row("local front door's own cost: pipelined through it vs past it", "msg/s", p50(tput.workerd), p50(tput.edge));
      row("local front door's own cost: screenshot p50 through it vs past it", "ms", p50(shots.workerd), p50(shots.edge));
      if (connects.workerd) row("local front door's own cost: connectOverCDP p50 through it vs past it", "ms", p50(connects.workerd), p50(connects.edge));
    }
    // What the relay left in the node (its goal, 60 MB, is issue 14's: bench/egress measures it after its own load).
    for (const pid of pids.node) row("browser node RSS after the relay work", "MB", undefined, rssMb(pid));
    const perRoundTrip = (us: number) => us / rt.edge.length;
    const perMessage = (us: number) => us / (PIPELINED * PIPELINED_ROUNDS);
    const relayLabel: Record<Relay, string> = { node: "browser node", edge: pids.entry.length ? "edge (workerd)" : "edge (workerd, front door included)", entry: "local front door (the platform's process)" };
    for (const relay of RELAYS.filter((r) => pids[r].length)) {
      row(`CPU per round trip through the edge: ${relayLabel[relay]}`, "µs", undefined, perRoundTrip(meters.sequential.spent[relay]));
      row(`CPU per pipelined call through the edge: ${relayLabel[relay]}`, "µs", undefined, perMessage(meters.pipelined.spent[relay]));
    }
    return rows;
  } finally {
    for (const client of Object.values(clients)) client?.close();
    if (sessionId) await bb.sessions.update(sessionId, { status: "REQUEST_RELEASE" }).catch(() => {});
    await platform.stop();
    site.close();
  }
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

/** `n` samples of `measure` on each target, after one warm-up each, interleaved. */
async function interleaved<K extends string>(targets: Partial<Record<K, string>>, n: number, measure: (url: string) => Promise<number>) {
  const names = Object.keys(targets) as K[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (const name of names) await measure(targets[name]!);
  for (let i = 0; i < n; i++) for (const name of rotated(names, i)) samples[name].push(await measure(targets[name]!));
  return samples;
}

/** The paths in a different order each round, so none is always first after a pause. */
const rotated = <T>(items: T[], round: number) => items.map((_, i) => items[(i + round) % items.length]);
