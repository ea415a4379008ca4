/**
 * The egress proxy's guard, without a browser: every destination is decided after the proxy's own
 * resolution, and a refusal comes before any connect. Names map to private and documentation
 * addresses in an injected resolver; the injected connector records each dial and carries it to
 * a server on 127.0.0.1, so no packet leaves loopback, whatever the proxy decides.
 */
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Connector, Resolver } from "../../browser-node/egress/dial.ts";
import { startEgress, type Egress, type EgressSettings } from "../../browser-node/egress/egress.ts";
import { connectThrough, getInTunnel, getThrough } from "./support/through-proxy.ts";

const NAMES: Record<string, string[]> = {
  "metadata.test": ["169.254.170.2"],
  "imds.test": ["169.254.169.254"],
  "intranet.test": ["10.0.0.5"],
  "vpc.test": ["172.20.1.1"],
  "home.test": ["192.168.1.10"],
  "carrier.test": ["100.64.0.1"],
  "ula.test": ["fd00:ec2::254"],
  "linklocal6.test": ["fe80::1"],
  "mapped.test": ["::ffff:10.0.0.1"],
  "multicast.test": ["224.0.0.251"],
  "zero.test": ["0.0.0.0"],
  "loopback.test": ["127.0.0.1"],
  // 203.0.113.0/24 is for documentation: the connector below never dials it.
  "public.test": ["203.0.113.10"],
  "mixed.test": ["10.0.0.1", "203.0.113.7"],
};

let origin: Server;
let originPort: number;
const originConnections: number[] = [];
let egress: Egress | undefined;
let resolved: string[];
let dialled: string[];
let rebinding: string[][];

/** Names from NAMES; `rebind.test` answers the next entry of `rebinding` each time. */
const resolver: Resolver = async (host) => {
  resolved.push(host);
  if (host === "rebind.test") return rebinding.shift() ?? [];
  const addresses = NAMES[host];
  if (!addresses) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
  return addresses;
};

/** Records the checked address, and connects to the origin on loopback instead. */
const connector: Connector = (address, port) => {
  dialled.push(`${address}:${port}`);
  return connect(originPort, "127.0.0.1");
};

async function start(settings: EgressSettings = {}, allowLoopback = false) {
  egress = await startEgress({ resolver, connector, allowLoopback }, settings);
  return egress.port;
}

beforeAll(async () => {
  origin = createServer((req, res) => res.end(`origin saw ${req.headers.host}${req.url}`));
  origin.on("connection", () => originConnections.push(Date.now()));
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  originPort = (origin.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => origin.close(() => r())));
afterEach(async () => {
  await egress?.stop();
  egress = undefined;
});
const reset = () => {
  resolved = [];
  dialled = [];
  rebinding = [];
  originConnections.length = 0;
};

describe("destinations are checked after resolution, before any connect", () => {
  const refusedNames = Object.keys(NAMES).filter((n) => n !== "public.test" && n !== "mixed.test");

  it.each(refusedNames)("refuses %s (CONNECT 403, plain request dropped), resolving it but dialling nothing", async (name) => {
    reset();
    const port = await start();
    expect((await connectThrough(port, `${name}:443`)).status).toBe(403);
    expect(await getThrough(port, `http://${name}/latest/meta-data/`)).toEqual({ dropped: true });
    expect(resolved).toContain(name);
    expect(dialled).toEqual([]);
  });

  it.each(["127.0.0.1", "[::1]", "169.254.169.254", "10.1.2.3", "[fd00::1]", "[::ffff:169.254.169.254]", "0.0.0.0", "100.100.100.200"])(
    "refuses the literal %s without resolving or dialling",
    async (literal) => {
      reset();
      const port = await start();
      expect((await connectThrough(port, `${literal}:80`)).status).toBe(403);
      expect(await getThrough(port, `http://${literal}:81/`)).toEqual({ dropped: true });
      expect(resolved).toEqual([]);
      expect(dialled).toEqual([]);
    },
  );

  it("lets loopback through only where allowed, and never its IPv4-mapped form", async () => {
    reset();
    const port = await start({}, true);
    expect((await getThrough(port, `http://127.0.0.1:${originPort}/here`)).body).toBe(`origin saw 127.0.0.1:${originPort}/here`);
    expect((await connectThrough(port, `[::ffff:127.0.0.1]:${originPort}`)).status).toBe(403);
    expect(dialled).toEqual([`127.0.0.1:${originPort}`]);
  });

  it("dials the address it checked: a name that rebinds to a private address between lookups gains nothing", async () => {
    reset();
    rebinding = [["203.0.113.9"], ["10.0.0.1"], ["10.0.0.1"]];
    const port = await start();
    const first = await connectThrough(port, "rebind.test:443");
    expect(first.status).toBe(200);
    first.tunnel!.destroy();
    expect((await getThrough(port, "http://rebind.test/again")).body).toBe("origin saw rebind.test/again");
    expect(dialled).toEqual(["203.0.113.9:443", "203.0.113.9:80"]);
  });

  it("skips a name's refused addresses and dials the one it may reach", async () => {
    reset();
    const port = await start();
    expect((await getThrough(port, "http://mixed.test/")).body).toBe("origin saw mixed.test/");
    expect(dialled).toEqual(["203.0.113.7:80"]);
  });

  it("refuses everything until the session's settings are applied", async () => {
    reset();
    egress = await startEgress({ resolver, connector });
    expect((await connectThrough(egress.port, "public.test:443")).status).toBe(403);
    await egress.configure({});
    const open = await connectThrough(egress.port, "public.test:443");
    expect(open.status).toBe(200);
    open.tunnel!.destroy();
    expect(resolved).toEqual(["public.test"]);
  });
});

describe("allowedDomains and blockAds", () => {
  it("refuses a host outside allowedDomains before resolving it; a subdomain of a listed domain passes", async () => {
    reset();
    const port = await start({ allowedDomains: ["test"] });
    expect((await getThrough(port, "http://public.test/")).body).toBe("origin saw public.test/");
    await egress!.configure({ allowedDomains: ["mixed.test"] });
    expect((await connectThrough(port, "public.test:443")).status).toBe(403);
    expect(await getThrough(port, "http://public.test/x")).toEqual({ dropped: true });
    const tunnel = (await connectThrough(port, "mixed.test:443")).tunnel!;
    expect(await getInTunnel(tunnel, "mixed.test", "/in-tunnel")).toContain("origin saw mixed.test/in-tunnel");
    expect(resolved).toEqual(["public.test", "mixed.test"]);
  });

  it("refuses known ad and tracker hosts and their subdomains, from the packaged list", async () => {
    reset();
    const port = await start({ blockAds: true });
    for (const host of ["doubleclick.net", "stats.g.doubleclick.net", "www.google-analytics.com"]) {
      expect((await connectThrough(port, `${host}:443`)).status, host).toBe(403);
    }
    expect(resolved).toEqual([]);
    expect((await getThrough(port, "http://public.test/fine")).body).toBe("origin saw public.test/fine");
  });
});

describe("upstream proxies", () => {
  it("checks the upstream proxy's own address after resolution, and resolves nothing the upstream is to resolve", async () => {
    reset();
    const port = await start({ proxies: [{ server: "http://intranet.test:3128", username: "u", password: "p" }] });
    expect((await connectThrough(port, "anywhere.example:443")).status).toBe(403);
    expect(await getThrough(port, "http://anywhere.example/")).toEqual({ dropped: true });
    expect(new Set(resolved)).toEqual(new Set(["intranet.test"]));
    expect(dialled).toEqual([]);
  });

  it("dials the checked address of the proxy a pattern picks, and counts only those bytes", async () => {
    reset();
    const port = await start({ proxies: [{ domainPattern: "^via\\.", server: "http://public.test:3128" }, { domainPattern: "." }] });
    // The origin stands in for the upstream proxy: it was sent the absolute form a proxy takes.
    expect((await getThrough(port, "http://via.example/p")).body).toBe("origin saw via.examplehttp://via.example/p");
    const counted = egress!.usage().proxyBytes;
    expect(counted).toBeGreaterThan(0);
    expect((await getThrough(port, "http://mixed.test/direct")).body).toBe("origin saw mixed.test/direct");
    expect(egress!.usage().proxyBytes).toBe(counted);
    expect(dialled).toEqual(["203.0.113.10:3128", "203.0.113.7:80"]);
    expect(resolved).toEqual(["public.test", "mixed.test"]);
  });
});

describe("keep-alive", () => {
  it("serves many requests on one client connection and reuses one connection to the origin", async () => {
    reset();
    const { Agent } = await import("node:http");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const port = await start();
    for (let i = 0; i < 10; i++) expect((await getThrough(port, `http://public.test/${i}`, agent)).body).toBe(`origin saw public.test/${i}`);
    agent.destroy();
    expect(originConnections).toHaveLength(1);
    expect(dialled).toEqual(["203.0.113.10:80"]);
  });
});
