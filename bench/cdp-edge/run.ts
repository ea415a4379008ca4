/**
 * cdp-edge: CDP through the edge (edge mode, the default connectUrl) against the same session's
 * Chromium reached directly on its debugging port, on the real local platform: a session created
 * through the SDK, its node dialing the edge. All paths are measured in the same run and
 * interleaved in rounds, so a noisy, shared machine hurts every side alike.
 *
 * The local edge has an entry layer in front of workerd that a deployed Worker does not (the
 * platform's own proxy), crossed twice per message: by the client and by the node's channel. When
 * the platform tells workerd's own address, a client also connects there, past the layer, which
 * measures one crossing apart. Each edge path is measured with the client offering
 * permessage-deflate (as Playwright and Puppeteer do) and not: the local entry layer may accept
 * it where a deployed Worker refuses it.
 */
import Browserbase from "@browserbasehq/sdk";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { summarize, type BenchRow } from "../report.ts";
import { CdpClient } from "../cdp-proxy/cdp-client.ts";
import { FULL_HD, HEAVY_PAGE, pipelined, screenshot, sequential } from "../cdp-workloads.ts";
import { connectOverCdpMs, puppeteerConnectMs, socketOpenMs } from "./connect-timing.ts";
import { RELAYS, RelayMeter, type Relay } from "./relays.ts";
import { startPlatformChild } from "./platform-child.ts";

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 4000); // per path
const ROUNDS = 40;
const PIPELINED = 2000; // per path per round
const PIPELINED_ROUNDS = 6;
const IN_FLIGHT = 64;
const SCREENSHOTS = 30;
const CONNECTS = 20;

type PathName = "direct" | "edge" | "edgeDeflate" | "workerd" | "workerdDeflate";
const LABEL: Record<PathName, string> = {
  direct: "direct to Chromium",
  edge: "through the edge",
  edgeDeflate: "through the edge, deflate offered",
  workerd: "edge past the local entry layer",
  workerdDeflate: "edge past the local entry layer, deflate offered",
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
    if (viaWorkerd) {
      clients.workerd = await CdpClient.connect(viaWorkerd);
      clients.workerdDeflate = await CdpClient.connect(viaWorkerd, { offerDeflate: true });
    } else console.error("[bench] cdp-edge: the platform does not tell workerd's own address; the entry layer is not measured apart");
    const paths = Object.keys(clients) as PathName[];
    const negotiated = (name: PathName) => clients[name]!.extensions || "none";

    await clients.direct.send("Emulation.setDeviceMetricsOverride", FULL_HD);
    await clients.direct.send("Page.enable");
    await clients.direct.send("Page.navigate", { url: pageUrl });
    await new Promise((r) => setTimeout(r, 1000));

    // What the relays spend while the plain edge path runs, apart for the sequential and pipelined calls.
    const meters = { sequential: RelayMeter.find(platform), pipelined: RelayMeter.find(platform) };
    const { pids } = meters.sequential;
    console.error(`[bench] cdp-edge: relays: node ${pids.node}, edge ${pids.edge}, entry layer ${pids.entry.join(",") || "not apart"}`);

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
    const connectPaths = Object.keys(connects) as PathName[];
    const puppeteerConnects = await interleaved({ direct: browserWs, edge: session.connectUrl }, CONNECTS, puppeteerConnectMs);
    const opens = await interleaved({ direct: `ws://127.0.0.1:${debugPort}/devtools/page/${page.id}`, edge: viaEdge }, CONNECTS, socketOpenMs);

    const p50 = (xs: number[]) => summarize(xs).p50;
    const d = summarize(rt.direct);
    const rows: BenchRow[] = [];
    const row = (metric: string, unit: string, baseline: number, subject: number, goal?: BenchRow["goal"]) =>
      rows.push({ bench: "cdp-edge", metric, unit, baseline, subject, ...(goal ? { goal } : {}) });
    for (const name of paths.filter((n) => n !== "direct")) {
      const s = summarize(rt[name]);
      const main = name === "edge";
      const label = `${LABEL[name]}${name.endsWith("Deflate") ? ` (got ${negotiated(name)})` : ""}`;
      row(`Runtime.evaluate p50, ${label}`, "ms", d.p50, s.p50, main ? { ratio: 1.6, better: "lower" } : undefined);
      if (main) row(`Runtime.evaluate p99, ${label}`, "ms", d.p99, s.p99);
    }
    for (const name of paths.filter((n) => n !== "direct"))
      row(`pipelined (${IN_FLIGHT} in flight), ${LABEL[name]}`, "msg/s", p50(tput.direct), p50(tput[name]));
    for (const name of paths.filter((n) => n !== "direct"))
      row(`full-HD screenshot p50, ${LABEL[name]}`, "ms", p50(shots.direct), p50(shots[name]), name === "edge" ? { ratio: 1.1, better: "lower" } : undefined);
    for (const name of connectPaths.filter((n) => n !== "direct"))
      row(`Playwright connectOverCDP p50 (deflate offered), ${LABEL[name]}`, "ms", p50(connects.direct), p50(connects[name]), name === "edge" ? { delta: 10, better: "lower" } : undefined);
    row("Puppeteer connect p50 (no deflate), through the edge", "ms", p50(puppeteerConnects.direct), p50(puppeteerConnects.edge));
    row("a bare CDP WebSocket open p50, through the edge", "ms", p50(opens.direct), p50(opens.edge));
    const perRoundTrip = (us: number) => us / rt.edge.length;
    const perMessage = (us: number) => us / (PIPELINED * PIPELINED_ROUNDS);
    const relayLabel: Record<Relay, string> = { node: "browser node", edge: pids.entry.length ? "edge (workerd)" : "edge (workerd, entry layer included)", entry: "local entry layer" };
    for (const relay of RELAYS.filter((r) => pids[r].length)) {
      rows.push({ bench: "cdp-edge", metric: `CPU per round trip through the edge: ${relayLabel[relay]}`, unit: "µs", subject: perRoundTrip(meters.sequential.spent[relay]) });
      rows.push({ bench: "cdp-edge", metric: `CPU per pipelined call through the edge: ${relayLabel[relay]}`, unit: "µs", subject: perMessage(meters.pipelined.spent[relay]) });
    }
    if (clients.workerd) {
      // One crossing of the entry layer, apart: the same edge with and without it on the client's side.
      const crossing = p50(rt.edge) - p50(rt.workerd);
      row("entry layer, one crossing: Runtime.evaluate p50 through it vs past it", "ms", p50(rt.workerd), p50(rt.edge));
      row("estimate: edge p50 without the entry layer (both crossings taken off)", "ms", d.p50, p50(rt.edge) - 2 * crossing);
      row("entry layer, one crossing: screenshot p50 through it vs past it", "ms", p50(shots.workerd), p50(shots.edge));
    }
    return rows;
  } finally {
    for (const client of Object.values(clients)) client?.close();
    if (sessionId) await bb.sessions.update(sessionId, { status: "REQUEST_RELEASE" }).catch(() => {});
    await platform.stop();
    site.close();
  }
}

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
