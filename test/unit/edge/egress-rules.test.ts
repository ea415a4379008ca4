/** The egress rules both sides apply (edge/egress-rules.ts) and the routes a create's proxies become (edge/sessions/proxy-routes.ts). */
import { describe, expect, it } from "vitest";
import { classifyAddress, compileDomainPattern, hostInDomain, parseProxyServer } from "../../../edge/egress-rules.ts";
import { managedProxies, proxyRoutes } from "../../../edge/sessions/proxy-routes.ts";

// Pure rules over strings: the addresses below are classified and parsed, never resolved or dialled.

describe("classifyAddress", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.0.1", "private"],
    ["100.64.0.1", "shared (CGNAT)"],
    ["100.127.255.255", "shared (CGNAT)"],
    ["169.254.169.254", "link-local"],
    ["169.254.170.2", "link-local"],
    ["fe80::1", "link-local"],
    ["224.0.0.251", "multicast"],
    ["ff02::fb", "multicast"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["255.255.255.255", "reserved"],
    ["192.0.0.192", "reserved"],
    ["fd00:ec2::254", "unique-local"],
    ["fc00::1", "unique-local"],
    ["::ffff:127.0.0.1", "IPv4-mapped"],
    ["::ffff:a9fe:a9fe", "IPv4-mapped"],
    ["64:ff9b::169.254.169.254", "link-local"],
    ["[::1]", "loopback"],
    ["example.com", "not an IP address"],
    ["1.2.3", "not an IP address"],
    ["256.1.1.1", "not an IP address"],
  ])("%s is %s", (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it.each(["8.8.8.8", "172.32.0.1", "100.128.0.1", "203.0.113.10", "2606:4700::1111", "64:ff9b::8.8.8.8"])("%s may be reached", (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });
});

describe("hostInDomain (allowedDomains)", () => {
  it("takes the domain and its subdomains, nothing that merely ends the same, and an IP only as itself", () => {
    expect(hostInDomain("example.com", "example.com")).toBe(true);
    expect(hostInDomain("a.b.EXAMPLE.com.", "example.com")).toBe(true);
    expect(hostInDomain("notexample.com", "example.com")).toBe(false);
    expect(hostInDomain("www.example.com", "*.example.com")).toBe(true);
    expect(hostInDomain("127.0.0.1", "127.0.0.1")).toBe(true);
    expect(hostInDomain("evil.127.0.0.1", "127.0.0.1")).toBe(false);
    expect(hostInDomain("localhost", "127.0.0.1")).toBe(false);
  });
});

describe("proxy servers and patterns", () => {
  it("reads http://user:password@host:port, and refuses other schemes and paths", () => {
    expect(parseProxyServer("http://u%3A:p%40ss@proxy.example:3128")).toEqual({ host: "proxy.example", port: 3128, username: "u:", password: "p@ss" });
    expect(parseProxyServer("proxy.example:8080")).toEqual({ host: "proxy.example", port: 8080 });
    expect(parseProxyServer("http://[::1]:3128")).toEqual({ host: "::1", port: 3128 });
    expect(parseProxyServer("https://proxy.example")).toEqual({ problem: "https: proxies are not supported (expected http://host:port)" });
    expect(parseProxyServer("http://proxy.example/x?y")).toEqual({ problem: "must have no path, query or fragment" });
  });

  it("compiles a domainPattern as an unanchored, case-insensitive regular expression", () => {
    const pattern = compileDomainPattern("wikipedia\\.org") as RegExp;
    expect(pattern.test("EN.wikipedia.org")).toBe(true);
    expect(pattern.test("wikipedia.com")).toBe(false);
    expect(compileDomainPattern("x".repeat(257))).toEqual({ problem: "longer than 256 characters" });
  });
});

describe("proxyRoutes", () => {
  it("answers a 400 naming what is missing when no managed proxies are configured", () => {
    expect(() => proxyRoutes(true, undefined)).toThrow(/^proxies: no managed proxies are configured on this platform/);
    expect(() => proxyRoutes([{ type: "none" }, { type: "browserbase" }], "")).toThrow(/^proxies\.1: no managed proxies/);
    // Entries that need none do not need the secret.
    expect(proxyRoutes([{ type: "none", domainPattern: "x" }], undefined)).toEqual([{ domainPattern: "x" }]);
    expect(proxyRoutes(false, undefined)).toEqual([]);
  });

  it("matches locations without regard to case, states and cities included", () => {
    const secret = JSON.stringify({ "us/ny/New York": "http://a:b@127.0.0.1:1", "GB//London": "http://127.0.0.1:2" });
    expect(proxyRoutes([{ type: "browserbase", geolocation: { country: "US", state: "ny", city: "new york" } }], secret)).toEqual([
      { server: "http://a:b@127.0.0.1:1", managed: true },
    ]);
    expect(proxyRoutes([{ type: "browserbase", geolocation: { country: "gb", city: "LONDON" } }], secret)[0].server).toBe("http://127.0.0.1:2");
  });

  it("refuses an operator's secret that does not parse, or names a private proxy, with a 500 naming it", () => {
    expect(() => managedProxies("{")).toThrow("The edge is misconfigured: MANAGED_PROXIES is not JSON");
    expect(() => managedProxies('{"US": "http://10.0.0.8:3128"}')).toThrow('MANAGED_PROXIES["US"]: 10.0.0.8 is a private address');
    expect(() => managedProxies('{"US": 5}')).toThrow('MANAGED_PROXIES["US"]: expected a proxy URL');
  });
});
