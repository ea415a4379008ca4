/**
 * The rules of a browser's way out, held once for both sides: which addresses a page may never
 * reach, how `allowedDomains` and a proxy's `domainPattern` match a host, and what a proxy server
 * URL may be. The edge refuses bad `proxies` with them (a 400, never a dead node); the node's
 * egress proxy applies them to every request (`browser-node/egress/`).
 *
 * Like `browser-settings.ts` this module is in the node's bundle: pure functions, no Workers or
 * Node APIs and no libraries.
 */

/** Why an address is refused, or undefined when it is a public unicast address. */
export type AddressClass =
  | "loopback"
  | "private"
  | "shared (CGNAT)"
  | "link-local"
  | "multicast"
  | "unspecified"
  | "reserved"
  | "unique-local"
  | "IPv4-mapped"
  | "not an IP address";

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The four bytes of a dotted IPv4 address, or undefined. */
export function parseIPv4(text: string): number[] | undefined {
  const m = V4.exec(text);
  if (!m) return undefined;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part allowed), or undefined. */
export function parseIPv6(text: string): number[] | undefined {
  let s = text.toLowerCase();
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) is two more groups.
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".", lastColon)) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    s = `${s.slice(0, lastColon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const group = (part: string) => (part === "" ? [] : part.split(":"));
  const head = group(halves[0]);
  const rest = halves.length === 2 ? group(halves[1]) : [];
  const words = [...head, ...rest];
  if (!words.every((w) => /^[0-9a-f]{1,4}$/.test(w))) return undefined;
  if (halves.length === 1 ? words.length !== 8 : words.length > 7) return undefined;
  const fill = Array<number>(8 - words.length).fill(0);
  return [...head.map((w) => parseInt(w, 16)), ...(halves.length === 2 ? fill : []), ...rest.map((w) => parseInt(w, 16))];
}

function classifyIPv4([a, b, c]: number[]): AddressClass | undefined {
  if (a === 0) return "unspecified";
  if (a === 127) return "loopback";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "private";
  if (a === 100 && b >= 64 && b <= 127) return "shared (CGNAT)";
  if (a === 169 && b === 254) return "link-local";
  if (a >= 224 && a <= 239) return "multicast";
  // 240/4 and the broadcast address; 192.0.0/24 holds cloud metadata addresses too (192.0.0.192).
  if (a >= 240 || (a === 192 && b === 0 && c === 0)) return "reserved";
  return undefined;
}

function classifyIPv6(g: number[]): AddressClass | undefined {
  const zeroUpTo = (n: number) => g.slice(0, n).every((w) => w === 0);
  if (zeroUpTo(8)) return "unspecified";
  if (zeroUpTo(7) && g[7] === 1) return "loopback";
  // ::ffff:a.b.c.d reaches IPv4 a.b.c.d; ::a.b.c.d (deprecated) and 64:ff9b::a.b.c.d (NAT64) may too.
  if (zeroUpTo(5) && g[5] === 0xffff) return "IPv4-mapped";
  if (zeroUpTo(6)) return "reserved";
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((w) => w === 0)) {
    return classifyIPv4([g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255]);
  }
  if ((g[0] & 0xfe00) === 0xfc00) return "unique-local";
  if ((g[0] & 0xffc0) === 0xfe80 || (g[0] & 0xffc0) === 0xfec0) return "link-local";
  if ((g[0] & 0xff00) === 0xff00) return "multicast";
  return undefined;
}

/** Undefined for an address a page may reach; otherwise the kind of address it is. Brackets are allowed. */
export function classifyAddress(address: string): AddressClass | undefined {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  const v4 = parseIPv4(bare);
  if (v4) return classifyIPv4(v4);
  const v6 = bare.includes(":") ? parseIPv6(bare) : undefined;
  if (v6) return classifyIPv6(v6);
  return "not an IP address";
}

/** Whether `text` is an IP address literal (brackets allowed), as opposed to a name to resolve. */
export const isIpLiteral = (text: string) => classifyAddress(text) !== "not an IP address";

/** A host as compared: lowercase, no brackets, no trailing dot. */
export function canonicalHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/**
 * `allowedDomains` as Browserbase defines it: `example.com` permits `example.com` and every
 * subdomain (`a.b.example.com`), not `notexample.com`. An IP address matches only itself.
 */
export function hostInDomain(host: string, domain: string): boolean {
  const h = canonicalHost(host);
  const d = canonicalHost(domain.replace(/^\*\./, ""));
  if (d === "") return false;
  if (h === d) return true;
  return !isIpLiteral(h) && !isIpLiteral(d) && h.endsWith(`.${d}`);
}

/** The longest `domainPattern` taken: it is a regular expression run against every new host. */
export const MAX_DOMAIN_PATTERN_CHARS = 256;

/**
 * A proxy's `domainPattern` is a regular expression (Browserbase's examples: `wikipedia\\.org`,
 * `.*\\.gov`), tested case-insensitively against the request's host name, unanchored as
 * Browserbase's examples need (`wikipedia\\.org` covers `en.wikipedia.org`). Returns the compiled
 * pattern or why it is refused.
 */
export function compileDomainPattern(pattern: string): RegExp | { problem: string } {
  if (pattern.length > MAX_DOMAIN_PATTERN_CHARS) return { problem: `longer than ${MAX_DOMAIN_PATTERN_CHARS} characters` };
  try {
    return new RegExp(pattern, "i");
  } catch (error) {
    return { problem: `not a regular expression (${error instanceof Error ? error.message : String(error)})` };
  }
}

export interface ProxyServer {
  /** Host name or address, IPv6 without brackets. */
  host: string;
  port: number;
  /** From the URL's userinfo, decoded. */
  username?: string;
  password?: string;
}

/**
 * An upstream proxy's `server`: `http://host:port` (the port defaults to 80), optionally with
 * `user:password@`; nothing after the authority. The browser's requests reach it over plain
 * HTTP (CONNECT for TLS), as Browserbase's external proxies take them.
 */
export function parseProxyServer(server: string): ProxyServer | { problem: string } {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `http://${server}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { problem: "not a URL (expected http://host:port)" };
  }
  if (url.protocol !== "http:") return { problem: `${url.protocol} proxies are not supported (expected http://host:port)` };
  if (!url.hostname) return { problem: "has no host" };
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) return { problem: "must have no path, query or fragment" };
  const parsed: ProxyServer = { host: canonicalHost(url.hostname), port: url.port ? Number(url.port) : 80 };
  if (url.username) parsed.username = decodeURIComponent(url.username);
  if (url.password) parsed.password = decodeURIComponent(url.password);
  return parsed;
}

/**
 * Addresses an upstream proxy server may never have, whatever the platform: the task's metadata
 * and private networks. Loopback is left to the node (the local platform's test proxies live
 * there; a Fargate node refuses it when it connects).
 */
export function refusedProxyAddress(host: string): AddressClass | undefined {
  const kind = classifyAddress(host);
  return kind === "not an IP address" || kind === "loopback" ? undefined : kind;
}
