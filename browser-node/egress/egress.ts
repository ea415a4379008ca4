/**
 * The node's egress proxy, as the session uses it: start it on 127.0.0.1 before Chromium (whose
 * `--proxy-server` names its port), give it the session's settings (again at any time: a warm
 * browser gets its session's settings without a relaunch), read its byte counters, stop it.
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { NodeUsage, ProxyRoute } from "../../edge/node-protocol.ts";
import { log } from "../log.ts";
import { loadAdHosts } from "./ad-hosts.ts";
import { AddressGuard, netConnector, offlineResolver, systemResolver, UpstreamBytes, type Connector, type Resolver } from "./dial.ts";
import { compileRoutes, EgressPolicy } from "./policy.ts";
import { createEgressServer } from "./proxy-server.ts";

export interface EgressSettings {
  proxies?: ProxyRoute[];
  /** `browserSettings.allowedDomains`: empty or absent allows every domain. */
  allowedDomains?: string[];
  /** `browserSettings.blockAds`. */
  blockAds?: boolean;
}

export interface EgressOptions {
  /** Pages may reach loopback (the local platform only). */
  allowLoopback?: boolean;
  /** Resolve nothing but IP literals and localhost (tests). */
  offline?: boolean;
  resolver?: Resolver;
  connector?: Connector;
}

export interface Egress {
  readonly port: number;
  /** Applies a session's settings to every request from now on; throws on settings the edge would have refused. */
  configure(settings: EgressSettings): Promise<void>;
  usage(): NodeUsage;
  stop(): Promise<void>;
}

/** One log line per host and reason, then one per 100 more: a page may retry a refused host in a loop. */
function refusalLog() {
  const seen = new Map<string, number>();
  return ({ host, port, why }: { host: string; port: number; why: string }) => {
    const key = `${host}\n${why}`;
    const n = (seen.get(key) ?? 0) + 1;
    if (seen.size < 10_000 || seen.has(key)) seen.set(key, n);
    if (n === 1 || n % 100 === 0) log("egress-refused", { host, port, why, times: n }, "warn");
  };
}

/** Starts the proxy; with `settings` it is configured at once, else it refuses everything until `configure`. */
export async function startEgress(options: EgressOptions = {}, settings?: EgressSettings): Promise<Egress> {
  const guard = new AddressGuard(options.resolver ?? (options.offline ? offlineResolver : systemResolver), options.allowLoopback === true);
  const upstreamBytes = new UpstreamBytes();
  let policy: EgressPolicy | undefined;
  const server: Server = createEgressServer({
    policy: () => policy,
    guard,
    connector: options.connector ?? netConnector,
    upstreamBytes,
    refused: refusalLog(),
  });

  async function configure(s: EgressSettings) {
    const routes = compileRoutes(s.proxies ?? []);
    if ("problem" in routes) throw new Error(`proxies.${routes.at}.${routes.problem}`);
    policy = new EgressPolicy(routes, s.allowedDomains, s.blockAds ? await loadAdHosts() : undefined);
    log("egress-configured", {
      routes: (s.proxies ?? []).map((r) => ({ domainPattern: r.domainPattern, via: r.server ? (r.managed ? "managed" : "external") : "direct" })),
      allowedDomains: s.allowedDomains?.length ?? 0,
      blockAds: s.blockAds === true,
    });
  }

  if (settings) await configure(settings);
  // Tunnels outlive the HTTP server's own bookkeeping: stop ends them too.
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
  return {
    port,
    configure,
    usage: () => ({ proxyBytes: upstreamBytes.total() }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
