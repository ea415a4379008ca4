/**
 * Pages are kept off the metadata endpoints and private networks by Chromium's host-resolver
 * rules (browser-node/chromium/flags.ts). Proven without a packet to any address outside
 * 127.0.0.0/8, even if the rules regress: the rules the node's Chromium really runs with, read
 * from /proc, and Chromium refusing an address literal its rules name before dialling it, shown
 * only with addresses that stay on loopback when the rule is missing (then the page loads and the
 * test fails, on loopback).
 */
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_RESOLVER_RULES, launchFlags, OFFLINE_RESOLVER_RULES } from "../../browser-node/chromium/flags.ts";
import { TEST_CHROMIUM, WRAPPER_RESOLVER_RULES } from "../support/chromium.ts";
import { CHROMIUM } from "./support/node-process.ts";
import { shared, sharedToken } from "./support/shared.ts";
import { serveSite, type Site } from "./support/site.ts";

/** What a page must never reach: link-local (task metadata, credentials), RFC 1918, ULA, the wildcard addresses, IPv4-mapped IPv6. */
const MUST_REFUSE = [
  "169.254.*",
  "10.*",
  "192.168.*",
  ...Array.from({ length: 16 }, (_, i) => `172.${16 + i}.*`),
  "0.0.0.0",
  "[::]",
  "[fc*",
  "[fd*",
  "[fe80:*",
  "[::ffff:*",
];
const RULES_FLAG = "--host-resolver-rules=";

/**
 * The rules the node gave a process, from its real command line (argv, NUL-separated), one entry
 * per rule: the tests' Chromium wrapper (test/support/chromium.sh) adds its own after them, which
 * are checked to be there, last, and left out.
 */
function resolverRulesOf(pid: number): string[] {
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  expect(argv[0]).toMatch(/chrom/);
  const given = argv.filter((arg) => arg.startsWith(RULES_FLAG));
  expect(given).toHaveLength(1); // a second one would silently win
  const rules = given[0].slice(RULES_FLAG.length).split(",").map((rule) => rule.trim());
  const added = CHROMIUM === TEST_CHROMIUM ? WRAPPER_RESOLVER_RULES : [];
  expect(rules.slice(rules.length - added.length)).toEqual(added);
  return rules.slice(0, rules.length - added.length);
}

const navigate = async (cdp: { send(method: "Page.navigate", params: { url: string }): Promise<{ errorText?: string }> }, url: string) =>
  (await cdp.send("Page.navigate", { url })).errorText ?? "loaded";

let site: Site;
beforeAll(async () => {
  site = await serveSite();
});
afterAll(() => site.close());

describe("the browser is kept off private networks", () => {
  it("runs with rules that refuse every private and metadata range, map nothing anywhere, and spare loopback", () => {
    // The shared node runs offline, as every test node does: its Chromium also refuses every other name.
    const rules = resolverRulesOf(shared().chromiumPid);
    const offline = OFFLINE_RESOLVER_RULES.split(", ");
    expect(rules.slice(-offline.length)).toEqual(offline);
    const own = rules.slice(0, -offline.length);
    for (const rule of own) expect(rule).toMatch(/^MAP \S+ ~NOTFOUND$/); // no redirect, no EXCLUDE
    const refused = own.map((rule) => rule.split(" ")[1]);
    expect(refused).toEqual(expect.arrayContaining(MUST_REFUSE));
    expect(refused.filter((pattern) => /^(127\.|\[::1\]|localhost)/.test(pattern))).toEqual([]);
    expect(launchFlags({}, "/tmp/p").filter((f) => f.startsWith(RULES_FLAG))).toEqual([`${RULES_FLAG}${HOST_RESOLVER_RULES}`]);
  });

  it("runs Chromium with every request through the node's egress proxy, loopback included", () => {
    const argv = readFileSync(`/proc/${shared().chromiumPid}/cmdline`, "utf8").split("\0");
    expect(argv.filter((arg) => arg.startsWith("--proxy-server="))).toEqual([expect.stringMatching(/^--proxy-server=http:\/\/127\.0\.0\.1:\d+$/)]);
    expect(argv).toContain("--proxy-bypass-list=<-loopback>");
  });

  it("refuses an address literal its rules name before dialling it, and still loads 127.0.0.1 (allowed in tests)", async () => {
    // [::ffff:127.0.0.1] is loopback written as IPv4-mapped IPv6, which the egress proxy refuses
    // (even where loopback is allowed, as here) and the "[::ffff:*" rule behind it too. Were both
    // gone, this navigation would reach `site` on 127.0.0.1 (the next test shows it does in a
    // browser without the rule) and show up in site.requests. The proxy drops a refused plain
    // request, which the page sees as an empty response.
    const browser = await chromium.connectOverCDP(`ws://127.0.0.1:${shared().port}?signingKey=${await sharedToken()}`);
    try {
      const context = browser.contexts()[0];
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      expect(await navigate(cdp, `http://[::ffff:127.0.0.1]:${site.port}/mapped-loopback`)).toBe("net::ERR_EMPTY_RESPONSE");
      expect(await navigate(cdp, `${site.url}still-fine`)).toBe("loaded");
      expect(site.requests).not.toContain("/mapped-loopback");
      expect(site.requests).toContain("/still-fine");
      await page.close();
    } finally {
      await browser.close();
    }
  });

  it("Chromium refuses IPv4 literals by a rule's pattern, and dials the IPv4-mapped form without its rule", async () => {
    // The node's rules name no loopback range, so the form of "MAP 169.254.* ~NOTFOUND" is shown
    // here on a Chromium of the test's own, with the same form naming 127.3.*.
    const blocked = await serveSite("127.3.0.1");
    // The rest of the rules resolve nothing but loopback, so Chromium's own background requests
    // (to Google's hosts) send no DNS query; 127.3.0.1 falls under both MAP rules alike, so this
    // shows the MAP form refusing an IPv4 literal, whichever pattern names it.
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [`${RULES_FLAG}MAP 127.3.* ~NOTFOUND, ${OFFLINE_RESOLVER_RULES}, EXCLUDE ::ffff:7f00:1, EXCLUDE ::ffff:127.0.0.1`],
    });
    try {
      const page = await browser.newPage();
      const cdp = await page.context().newCDPSession(page);
      expect(await navigate(cdp, `${blocked.url}by-pattern`)).toBe("net::ERR_NAME_NOT_RESOLVED");
      expect(blocked.requests).toEqual([]);
      expect(await navigate(cdp, `http://[::ffff:127.0.0.1]:${site.port}/mapped-unruled`)).toBe("loaded");
      expect(site.requests).toContain("/mapped-unruled");
    } finally {
      await browser.close();
      await blocked.close();
    }
  });

  it("offline, Chromium resolves nothing but loopback itself: a name /etc/hosts maps to 127.0.0.1 is refused", async (ctx) => {
    // A name the system would answer from /etc/hosts (no query leaves the machine) shows the rule
    // works: were it missing, the page would load from `site` on 127.0.0.1.
    const name = readFileSync("/etc/hosts", "utf8")
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .find(([address, ...names]) => address?.startsWith("127.") && names.some((n) => n && n !== "localhost" && !n.includes(".")))
      ?.slice(1)
      .find((n) => n !== "localhost" && !n.includes("."));
    if (!name) return ctx.skip();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [`${RULES_FLAG}${OFFLINE_RESOLVER_RULES}`] });
    try {
      const page = await browser.newPage();
      const cdp = await page.context().newCDPSession(page);
      expect(await navigate(cdp, `http://${name}:${site.port}/by-name`)).toBe("net::ERR_NAME_NOT_RESOLVED");
      expect(await navigate(cdp, `http://localhost:${site.port}/by-localhost`)).toBe("loaded");
      expect(site.requests).not.toContain("/by-name");
    } finally {
      await browser.close();
    }
  });
});
