/**
 * A create's `proxies` as the node applies them (`ProxyRoute[]`): `external` entries keep their
 * server and credentials, `none` entries go direct, and `proxies: true` or `browserbase` entries
 * take the operator's managed proxy for their geolocation, from the `MANAGED_PROXIES` secret. A
 * geolocation nobody configured is the create's 400, naming what is missing.
 *
 * MANAGED_PROXIES is JSON: `{"<location>": "http://user:password@host:port", ...}` where a location
 * is `*` (no geolocation, and `proxies: true`), a country (`US`), a country and state (`US/NY`),
 * or a country, state and city (`US/NY/New York`; a city of a country without states: `GB//London`).
 * Matching ignores case.
 */
import { parseProxyServer, refusedProxyAddress } from "../egress-rules.ts";
import { ApiError } from "../errors.ts";
import type { ProxyRoute } from "../node-protocol.ts";

export interface Geolocation {
  country: string;
  state?: string;
  city?: string;
}

export type ProxyEntry =
  | { type: "browserbase"; domainPattern?: string; geolocation?: Geolocation }
  | { type: "external"; server: string; username?: string; password?: string; domainPattern?: string }
  | { type: "none"; domainPattern?: string };

export const locationKey = (g?: Geolocation) =>
  g ? [g.country, g.state ?? "", g.city ?? ""].join("/").replace(/\/+$/, "").toUpperCase() : "*";

/** The operator's managed proxies by location key; throws a 500 naming the secret when it does not parse. */
export function managedProxies(secret: string | undefined): Map<string, string> {
  const table = new Map<string, string>();
  if (!secret) return table;
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret);
  } catch {
    throw new ApiError(500, "The edge is misconfigured: MANAGED_PROXIES is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ApiError(500, "The edge is misconfigured: MANAGED_PROXIES must be a JSON object");
  for (const [location, server] of Object.entries(parsed)) {
    const problem = typeof server !== "string" ? "expected a proxy URL" : proxyServerProblem(server);
    if (problem) throw new ApiError(500, `The edge is misconfigured: MANAGED_PROXIES["${location}"]: ${problem}`);
    table.set(location.trim().toUpperCase(), server as string);
  }
  return table;
}

/** Why a proxy server URL is refused, or undefined. Shared by the create's check and the operator's secret. */
export function proxyServerProblem(server: string): string | undefined {
  const parsed = parseProxyServer(server);
  if ("problem" in parsed) return parsed.problem;
  const refused = refusedProxyAddress(parsed.host);
  return refused ? `${parsed.host} is a ${refused} address` : undefined;
}

export function proxyRoutes(proxies: boolean | ProxyEntry[] | undefined, managedSecret: string | undefined): ProxyRoute[] {
  if (proxies === undefined || proxies === false) return [];
  const entries: ProxyEntry[] = proxies === true ? [{ type: "browserbase" }] : proxies;
  const needsManaged = entries.some((e) => e.type === "browserbase");
  const managed = needsManaged ? managedProxies(managedSecret) : new Map<string, string>();
  return entries.map((entry, i) => {
    const route: ProxyRoute = {};
    if (entry.domainPattern !== undefined) route.domainPattern = entry.domainPattern;
    if (entry.type === "external") {
      route.server = entry.server;
      if (entry.username !== undefined) route.username = entry.username;
      if (entry.password !== undefined) route.password = entry.password;
    } else if (entry.type === "browserbase") {
      const key = locationKey(entry.geolocation);
      const server = managed.get(key);
      if (!server) {
        const where = proxies === true ? "proxies" : `proxies.${i}`;
        const offered = [...managed.keys()].join(", ");
        throw new ApiError(
          400,
          managed.size === 0
            ? `${where}: no managed proxies are configured on this platform (the operator sets MANAGED_PROXIES); use type "external" with your own proxy`
            : `${where}: no managed proxy for ${key === "*" ? "sessions without a geolocation" : `geolocation ${key}`} (configured: ${offered})`,
          { retry: false },
        );
      }
      route.server = server;
      route.managed = true;
    }
    return route;
  });
}
