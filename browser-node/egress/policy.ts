/**
 * The session's rules for each host, before anything is resolved: `allowedDomains` (every
 * request, not only navigations), `blockAds`, and which of the session's `proxies` carries it
 * (the first whose `domainPattern` matches; none matching: direct, as Browserbase does).
 */
import { canonicalHost, compileDomainPattern, hostInDomain, parseProxyServer, type ProxyServer } from "../../edge/egress-rules.ts";
import type { ProxyRoute } from "../../edge/node-protocol.ts";
import type { AdHosts } from "./ad-hosts.ts";

export interface Upstream extends ProxyServer {
  /** `Basic <base64>`, when the proxy takes credentials. */
  authorization?: string;
  managed: boolean;
}

interface CompiledRoute {
  pattern?: RegExp;
  upstream?: Upstream;
}

export type Decision = { refused: string } | { upstream?: Upstream };

/** Hosts whose route was looked up: a pattern is a user's regular expression, run once per host. */
const ROUTE_CACHE_ENTRIES = 5_000;

/** Checks routes as the edge does (edge/egress-rules.ts); a route it would refuse is a configuration error here. */
export function compileRoutes(routes: ProxyRoute[]): CompiledRoute[] | { at: number; problem: string } {
  const compiled: CompiledRoute[] = [];
  for (const [i, route] of routes.entries()) {
    const entry: CompiledRoute = {};
    if (route.domainPattern !== undefined) {
      const pattern = compileDomainPattern(route.domainPattern);
      if ("problem" in pattern) return { at: i, problem: `domainPattern: ${pattern.problem}` };
      entry.pattern = pattern;
    }
    if (route.server !== undefined) {
      const server = parseProxyServer(route.server);
      if ("problem" in server) return { at: i, problem: `server: ${server.problem}` };
      const username = route.username ?? server.username;
      const password = route.password ?? server.password;
      entry.upstream = { host: server.host, port: server.port, managed: route.managed === true };
      if (username !== undefined || password !== undefined) {
        entry.upstream.authorization = `Basic ${Buffer.from(`${username ?? ""}:${password ?? ""}`).toString("base64")}`;
      }
    }
    compiled.push(entry);
  }
  return compiled;
}

export class EgressPolicy {
  private readonly routeOf = new Map<string, CompiledRoute | undefined>();

  constructor(
    private readonly routes: CompiledRoute[],
    private readonly allowedDomains: string[] | undefined,
    private readonly adHosts: AdHosts | undefined,
  ) {}

  decide(rawHost: string): Decision {
    const host = canonicalHost(rawHost);
    if (this.allowedDomains?.length && !this.allowedDomains.some((d) => hostInDomain(host, d))) {
      return { refused: `${host} is not in allowedDomains` };
    }
    if (this.adHosts?.has(host)) return { refused: `${host} is a known ad or tracker host (blockAds)` };
    return { upstream: this.route(host)?.upstream };
  }

  private route(host: string): CompiledRoute | undefined {
    if (this.routeOf.has(host)) return this.routeOf.get(host);
    const route = this.routes.find((r) => !r.pattern || r.pattern.test(host));
    if (this.routeOf.size >= ROUTE_CACHE_ENTRIES) this.routeOf.clear();
    this.routeOf.set(host, route);
    return route;
  }
}
