/**
 * The browser's way out, end to end: the SDK creates sessions with `proxies`, `allowedDomains`,
 * `blockAds` and `ignoreCertificateErrors`, and Playwright browses through each node's egress
 * proxy. The upstream proxies are servers on 127.0.0.1 that require credentials and record what
 * they saw; they carry every name to a site on loopback, and the nodes resolve nothing
 * (WC_EGRESS_OFFLINE): no packet leaves the machine.
 */
import Browserbase from "@browserbasehq/sdk";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstreamProxy, type UpstreamProxy } from "../browser-node/support/upstream-proxy.ts";
import { startEgressSite, startTlsSite, type EgressSite } from "./fixtures/egress-site.ts";
import { api, sessionTask, usePlatform } from "./helpers.ts";

let site: EgressSite;
let tlsSite: EgressSite;
/** Where an upstream proxy carries a target: `*.tls.test` and port 443 to the TLS site, the rest to the plain one. */
const toSites = (host: string, port: number) => (port === 443 || host.endsWith("tls.test") ? tlsSite.port : site.port);
const managed = await startUpstreamProxy({ username: "operator", password: "managed-pw", to: toSites });

/** Every line the nodes logged. */
const nodeLog: string[] = [];
const t = usePlatform({
  vars: { MANAGED_PROXIES: JSON.stringify({ "*": `http://operator:managed-pw@127.0.0.1:${managed.port}` }) },
  onNodeOutput: (line) => nodeLog.push(line),
});

beforeAll(async () => {
  site = await startEgressSite();
  tlsSite = await startTlsSite();
});
afterAll(async () => {
  await site.close();
  await tlsSite.close();
  await managed.close();
});

/** The host a proxy was asked for: a CONNECT's authority, a plain request's URL. */
const hostOf = (target: string) => (target.includes("://") ? new URL(target).hostname : target.replace(/:\d+$/, ""));
/** What the tests' own pages asked for (Chromium also sends a little traffic of its own to Google's hosts). */
const ours = (seen: UpstreamProxy["seen"]) => seen.filter((s) => hostOf(s.target).endsWith(".test"));

async function browse<T>(session: { connectUrl: string }, work: (page: Page, browser: Browser) => Promise<T>): Promise<T> {
  const browser = await chromium.connectOverCDP(session.connectUrl);
  try {
    const context = browser.contexts()[0];
    return await work(context.pages()[0] ?? (await context.newPage()), browser);
  } finally {
    await browser.close();
  }
}

const navigate = async (page: Page, url: string) => (await page.goto(url).then(() => "loaded", (e: Error) => /net::[A-Z_]+/.exec(e.message)?.[0] ?? e.message));

/** The /reach page's title once its three attempts settled. */
async function outcomes(page: Page): Promise<string> {
  await expect.poll(() => page.title(), { timeout: 10_000 }).toMatch(/^img \w+, fetch \w+, ws /);
  return page.title();
}

/** Releases the session and waits until its node has exited (its exit report carries the final proxyBytes). */
async function ended(bb: Browserbase, id: string) {
  await bb.sessions.update(id, { status: "REQUEST_RELEASE" });
  const task = await sessionTask(t.platform, id);
  await expect.poll(() => task?.lastStatus, { timeout: 20_000 }).toBe("STOPPED");
  return bb.sessions.retrieve(id);
}

describe("external proxies", () => {
  let upstream: UpstreamProxy;
  beforeAll(async () => {
    upstream = await startUpstreamProxy({ username: "alice", password: "s3cret-pw", to: toSites });
  });
  afterAll(() => upstream.close());

  it("carries pages, HTTPS and WebSockets through the user's proxy with its credentials, and counts proxyBytes both ways", async () => {
    const session = await t.bb.sessions.create({
      proxies: [{ type: "external", server: upstream.url, username: "alice", password: "s3cret-pw" }],
      browserSettings: { ignoreCertificateErrors: true },
    });
    const outcome = await browse(session, async (page) => {
      const plain = await navigate(page, "http://shop.test/hello");
      const plainTitle = await page.title();
      const secure = await navigate(page, "https://secure.tls.test/protocol");
      const protocol = await page.title();
      await navigate(page, "http://shop.test/reach?other=http://chat.test");
      const reached = await outcomes(page);
      // A running session's count grows: the node reports it every 5 s.
      await expect.poll(async () => (await t.bb.sessions.retrieve(session.id)).proxyBytes, { timeout: 15_000 }).toBeGreaterThan(0);
      return { plain, plainTitle, secure, protocol, reached };
    });
    expect(outcome).toEqual({ plain: "loaded", plainTitle: "page /hello", secure: "loaded", protocol: "HTTP/2.0", reached: "img loaded, fetch loaded, ws echo ping" });
    expect(upstream.seen.filter((s) => !s.authorized)).toEqual([]);
    expect(ours(upstream.seen).map((s) => `${s.method} ${s.target}`)).toEqual(
      expect.arrayContaining(["GET http://shop.test/hello", "CONNECT secure.tls.test:443", "CONNECT chat.test:80", "GET http://chat.test/data"]),
    );
    expect(site.requests).toContain("chat.test ws /echo");
    expect(tlsSite.requests).toContain("secure.tls.test /protocol");

    const final = await ended(t.bb, session.id);
    // Counted at the node's sockets to the proxy: what the proxy itself saw, both ways.
    expect(final.proxyBytes).toBe(upstream.bytes());
    const usage = await api(t.platform, `/v1/projects/${t.platform.projectId}/usage`);
    expect(usage.body.proxyBytes).toBeGreaterThanOrEqual(final.proxyBytes);
  });

  it("sends only what matches a domainPattern through the proxy; the rest goes direct and is not counted", async () => {
    const before = upstream.seen.length;
    const session = await t.bb.sessions.create({
      proxies: [
        { type: "external", server: upstream.url, username: "alice", password: "s3cret-pw", domainPattern: "^proxied\\.test$" },
        { type: "none" },
      ],
    });
    const titles = await browse(session, async (page) => {
      await navigate(page, "http://proxied.test/one");
      const one = await page.title();
      await navigate(page, `http://127.0.0.1:${site.port}/two`);
      return [one, await page.title()];
    });
    expect(titles).toEqual(["page /one", "page /two"]);
    expect(ours(upstream.seen.slice(before)).map((s) => s.target)).toEqual(["http://proxied.test/one", "http://proxied.test/favicon.ico"]);
    expect(site.requests).toContain(`127.0.0.1:${site.port} /two`);
    const final = await ended(t.bb, session.id);
    expect(final.proxyBytes).toBeGreaterThan(0);
  });

  it("turns the proxy's refusal of wrong credentials into a network error, and logs no credentials", async () => {
    const session = await t.bb.sessions.create({ proxies: [{ type: "external", server: upstream.url, username: "alice", password: "wrong-pw" }] });
    const outcomes = await browse(session, async (page) => [await navigate(page, "http://shop.test/denied"), await navigate(page, "https://secure.tls.test/denied")]);
    expect(outcomes).toEqual(["net::ERR_EMPTY_RESPONSE", "net::ERR_TUNNEL_CONNECTION_FAILED"]);
    expect(upstream.seen.some((s) => s.target === "http://shop.test/denied" && !s.authorized)).toBe(true);
    await ended(t.bb, session.id);
    const refusals = nodeLog.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line)).filter((l) => l.event === "egress-refused" && l.sessionId === session.id);
    expect(refusals.map((l) => l.host)).toEqual(expect.arrayContaining(["shop.test", "secure.tls.test"]));
    expect(refusals.find((l) => l.host === "shop.test").why).toMatch(/refused its credentials \(407\)/);
    // No node ever logs a proxy's credentials, refused or not.
    for (const secret of ["wrong-pw", "s3cret-pw", "managed-pw", Buffer.from("alice:wrong-pw").toString("base64")]) {
      expect(nodeLog.filter((line) => line.includes(secret))).toEqual([]);
    }
  });
});

describe("managed proxies", () => {
  it("uses the operator's proxy for proxies: true", async () => {
    const before = managed.seen.length;
    const session = await t.bb.sessions.create({ proxies: true });
    expect(await browse(session, async (page) => (await navigate(page, "http://managed.test/m"), page.title()))).toBe("page /m");
    // The page through the operator's proxy, authorized; the favicon may follow or not before the session ends.
    const seen = ours(managed.seen.slice(before));
    expect(seen).toContainEqual(expect.objectContaining({ method: "GET", target: "http://managed.test/m", authorized: true }));
    expect(seen.every((s: { target: string; authorized: boolean }) => s.authorized && s.target.startsWith("http://managed.test/"))).toBe(true);
    expect((await ended(t.bb, session.id)).proxyBytes).toBeGreaterThan(0);
  });

  it("refuses a geolocation the operator did not configure with a 400, starting no node", async () => {
    const bb = new Browserbase({ apiKey: t.platform.apiKey, baseURL: t.platform.edgeUrl, maxRetries: 0 });
    const tasks = t.platform.standIn.tasks.size;
    const error = await bb.sessions.create({ proxies: [{ type: "browserbase", geolocation: { country: "FR" } }] }).catch((e) => e);
    expect(error).toBeInstanceOf(Browserbase.BadRequestError);
    expect(error.message).toMatch(/proxies\.0: no managed proxy for geolocation FR \(configured: \*\)/);
    expect(t.platform.standIn.tasks.size).toBe(tasks);
  });
});

describe("allowedDomains", () => {
  it("refuses every request outside the list, sub-resources, fetch and WebSockets too, not only navigations", async () => {
    const session = await t.bb.sessions.create({ browserSettings: { allowedDomains: ["127.0.0.1"] } });
    const before = site.requests.length;
    const outcome = await browse(session, async (page) => {
      const reaching = await navigate(page, `http://127.0.0.1:${site.port}/reach?other=http://localhost:${site.port}`);
      const refused = await outcomes(page);
      await navigate(page, `http://127.0.0.1:${site.port}/reach?other=http://127.0.0.1:${site.port}`);
      const allowed = await outcomes(page);
      // Last: a page right after a failed navigation sees that navigation's error page commit first.
      const outside = await navigate(page, `http://localhost:${site.port}/outside`);
      return { outside, reaching, refused, allowed };
    });
    expect(outcome).toEqual({
      outside: "net::ERR_EMPTY_RESPONSE",
      reaching: "loaded",
      refused: "img failed, fetch failed, ws failed",
      allowed: "img loaded, fetch loaded, ws echo ping",
    });
    expect(site.requests.slice(before).filter((r) => r.startsWith("localhost"))).toEqual([]);
    await ended(t.bb, session.id);
  });
});

describe("blockAds", () => {
  it("refuses known ad and tracker hosts before they reach any proxy; without it they are fetched", async () => {
    const upstream = await startUpstreamProxy({ username: "bob", password: "pw", to: toSites });
    const proxies = [{ type: "external" as const, server: upstream.url, username: "bob", password: "pw" }];
    // Chromium upgrades doubleclick.net to HTTPS (HSTS preload): the proxy carries it to the TLS site, whose certificate is for *.test.
    const page = `http://shop.test/reach?other=http://stats.g.doubleclick.net`;
    try {
      const blocking = await t.bb.sessions.create({ proxies, browserSettings: { blockAds: true, ignoreCertificateErrors: true } });
      const blocked = await browse(blocking, async (p) => (await navigate(p, page), outcomes(p)));
      expect(blocked).toBe("img failed, fetch failed, ws failed");
      expect(upstream.seen.filter((s) => hostOf(s.target) === "stats.g.doubleclick.net")).toEqual([]);
      await ended(t.bb, blocking.id);

      const open = await t.bb.sessions.create({ proxies, browserSettings: { ignoreCertificateErrors: true } });
      const fetched = await browse(open, async (p) => (await navigate(p, page), outcomes(p)));
      expect(fetched).toBe("img loaded, fetch loaded, ws echo ping");
      expect(upstream.seen.filter((s) => hostOf(s.target) === "stats.g.doubleclick.net").length).toBeGreaterThan(0);
      await ended(t.bb, open.id);
    } finally {
      await upstream.close();
    }
  });
});

describe("the egress proxy itself", () => {
  it("keeps connections alive: a page of 50 images takes a few connections, not 50", async () => {
    const session = await t.bb.sessions.create({});
    const before = { requests: site.requests.length, connections: site.connections };
    await browse(session, (page) => page.goto(`http://127.0.0.1:${site.port}/fifty`, { waitUntil: "load" }));
    expect(site.requests.length - before.requests).toBeGreaterThanOrEqual(51);
    expect(site.connections - before.connections).toBeLessThanOrEqual(8);
    await ended(t.bb, session.id);
  });

  it("refuses an invalid certificate unless ignoreCertificateErrors is set (HTTPS tunnelled directly, HTTP/2 inside)", async () => {
    const strict = await t.bb.sessions.create({});
    expect(await browse(strict, (page) => navigate(page, `https://127.0.0.1:${tlsSite.port}/strict`))).toBe("net::ERR_CERT_AUTHORITY_INVALID");
    await ended(t.bb, strict.id);
    const lenient = await t.bb.sessions.create({ browserSettings: { ignoreCertificateErrors: true } });
    const loaded = await browse(lenient, async (page) => [await navigate(page, `https://127.0.0.1:${tlsSite.port}/protocol`), await page.title()]);
    expect(loaded).toEqual(["loaded", "HTTP/2.0"]);
    await ended(t.bb, lenient.id);
  });
});
