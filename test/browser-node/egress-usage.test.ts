/**
 * A node's `proxyBytes` on its way to the edge, against the fake edge: the running total goes in
 * `POST usage` with the node token the link's `welcome` brought (the fake edge keeps only requests
 * whose node token it verified), and the last total in the `exit` the node sends on its link.
 * Everything on loopback: the page, the upstream proxy, the edge.
 */
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACT_FLUSH_INTERVAL_MS } from "../../edge/node-protocol.ts";
import { FakeEdge } from "./support/fake-edge.ts";
import { startReadyNode } from "./support/ready-node.ts";
import { serveSite, type Site } from "./support/site.ts";
import { startUpstreamProxy, type UpstreamProxy } from "./support/upstream-proxy.ts";

let edge: FakeEdge;
let site: Site;
let upstream: UpstreamProxy;
beforeAll(async () => {
  [edge, site, upstream] = await Promise.all([FakeEdge.start(), serveSite(), startUpstreamProxy({ username: "carol", password: "pw-usage" })]);
});
afterAll(async () => {
  await Promise.all([edge.stop(), site.close(), upstream.close()]);
});

describe("proxyBytes", () => {
  it("is reported with the welcome's node token while the session runs, and its total in the link's exit", async () => {
    const proxies = [{ server: upstream.url, username: "carol", password: "pw-usage" }];
    const ready = await startReadyNode({ edge, proxies });
    const { node } = ready;
    try {
      const browser = await chromium.connectOverCDP(ready.cdpUrl);
      const context = browser.contexts()[0];
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${site.url}via-upstream`);
      expect(await page.textContent("h1")).toBe("hello from /via-upstream");
      expect(upstream.seen).toContainEqual(expect.objectContaining({ target: `${site.url}via-upstream`, authorized: true }));
      await browser.close();

      // Kept by the fake edge only when the node token checked out: the one `welcome` brought.
      const usage = () => edge.requests.filter((r) => r.sessionId === node.sessionId && r.kind === "usage");
      await expect.poll(() => usage().length, { timeout: 4 * ARTIFACT_FLUSH_INTERVAL_MS }).toBeGreaterThan(0);
      const reported = JSON.parse(usage()[0].body.toString());
      expect(usage()[0].method).toBe("POST");
      expect(reported.proxyBytes).toBeGreaterThan(0);

      node.child.kill("SIGTERM");
      expect((await node.exited).code).toBe(0);
      const [exit] = edge.messages(node.sessionId, "exit");
      expect(exit).toMatchObject({ t: "exit", reason: "terminated" });
      // Counted at the node's sockets to the proxy: what the proxy itself saw, both ways.
      expect(exit.proxyBytes).toBe(upstream.bytes());
      expect(exit.proxyBytes).toBeGreaterThanOrEqual(reported.proxyBytes);
    } finally {
      await ready.stop();
    }
  });
});
