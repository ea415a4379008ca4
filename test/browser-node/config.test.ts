/** Configuration comes only from the environment; a bad value names itself and stops the node. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_VIEWPORT } from "../../edge/browser-settings.ts";
import { NodeEnv } from "../../edge/node-protocol.ts";
import { readConfig } from "../../browser-node/config.ts";
import { launchFlags } from "../../browser-node/chromium/flags.ts";
import { FakeEdge } from "./support/fake-edge.ts";
import { startNode } from "./support/node-process.ts";

const valid = () => ({
  [NodeEnv.sessionId]: randomUUID(),
  [NodeEnv.projectId]: "project-1",
  [NodeEnv.edgeUrl]: "http://127.0.0.1:8787",
  [NodeEnv.linkToken]: "secret-link-token",
  [NodeEnv.expiresAt]: new Date(Date.now() + 60_000).toISOString(),
});

describe("readConfig", () => {
  it("reads a minimal environment with the documented defaults", () => {
    const config = readConfig(valid());
    expect(config).toMatchObject({
      connectMode: "edge",
      linkToken: "secret-link-token",
      keepAlive: false,
      proxyPort: 9223,
      chromiumPath: "/usr/lib/chromium/chromium",
      idleGraceMs: 10_000,
      connectDeadlineMs: 300_000,
      readyDeadlineMs: 60_000,
      browserSettings: {},
    });
    expect(config).not.toHaveProperty("nodeToken"); // it comes over the link, never from the environment
    expect(config.jwks).toBeUndefined();
    expect(config.advertiseHost).toBeUndefined();
  });

  it("reads every optional value", () => {
    const config = readConfig({
      ...valid(),
      [NodeEnv.keepAlive]: "true",
      [NodeEnv.connectMode]: "direct",
      [NodeEnv.proxyPort]: "0",
      [NodeEnv.advertiseHost]: "127.0.0.1",
      [NodeEnv.jwks]: JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "a", y: "b" }] }),
      [NodeEnv.browserSettings]: JSON.stringify({
        viewport: { width: 1280, height: 720, extra: 1 },
        blockAds: true,
        context: { id: "ctx", persist: true },
        logSession: false,
      }),
      [NodeEnv.idleGraceMs]: "250",
    });
    expect(config).toMatchObject({ keepAlive: true, connectMode: "direct", proxyPort: 0, advertiseHost: "127.0.0.1", idleGraceMs: 250 });
    expect(config.browserSettings).toEqual({
      viewport: { width: 1280, height: 720 },
      blockAds: true, // settings the node does not apply yet are kept
      context: { id: "ctx", persist: true },
      logSession: false,
    });
    expect(config.jwks?.keys).toHaveLength(1);
  });

  it("fills a side the viewport leaves out from the default, as the edge does", () => {
    const config = readConfig({ ...valid(), [NodeEnv.browserSettings]: '{"viewport":{"width":1280}}' });
    expect(config.browserSettings.viewport).toEqual({ width: 1280, height: DEFAULT_VIEWPORT.height });
  });

  const bad: Array<[string, Record<string, string | undefined>, RegExp]> = [
    ["missing session id", { [NodeEnv.sessionId]: undefined }, /WC_SESSION_ID is required/],
    ["session id not a UUID", { [NodeEnv.sessionId]: "abc" }, /WC_SESSION_ID must be a UUID/],
    ["missing link token", { [NodeEnv.linkToken]: " " }, /WC_LINK_TOKEN is required/],
    ["an old edge's node token instead of a link token", { [NodeEnv.linkToken]: undefined, WC_NODE_TOKEN: "t" }, /WC_LINK_TOKEN is required/],
    ["unknown connect mode", { [NodeEnv.connectMode]: "tunnel" }, /WC_CONNECT_MODE must be one of "edge", "direct"/],
    ["edge URL not a URL", { [NodeEnv.edgeUrl]: "edge" }, /WC_EDGE_URL is not a URL/],
    ["expiresAt not a date", { [NodeEnv.expiresAt]: "tomorrow" }, /WC_EXPIRES_AT must be an ISO-8601 instant/],
    ["keepAlive not a boolean", { [NodeEnv.keepAlive]: "yes" }, /WC_KEEP_ALIVE must be "true" or "false"/],
    ["port out of range", { [NodeEnv.proxyPort]: "70000" }, /WC_PROXY_PORT must be between 0 and 65535/],
    ["port not a number", { [NodeEnv.proxyPort]: "92a3" }, /WC_PROXY_PORT must be a whole number/],
    ["JWKS not JSON", { [NodeEnv.jwks]: "{keys" }, /WC_JWKS is not valid JSON/],
    ["JWKS without keys", { [NodeEnv.jwks]: '{"keys":[]}' }, /WC_JWKS is malformed at keys/],
    ["viewport too small", { [NodeEnv.browserSettings]: '{"viewport":{"width":10,"height":10}}' }, /WC_BROWSER_SETTINGS is malformed at viewport.width/],
    ["viewport height not whole", { [NodeEnv.browserSettings]: '{"viewport":{"width":800,"height":600.5}}' }, /WC_BROWSER_SETTINGS is malformed at viewport.height/],
    ["settings not an object", { [NodeEnv.browserSettings]: "[1]" }, /WC_BROWSER_SETTINGS is malformed at \(root\)/],
    ["empty extension id", { [NodeEnv.browserSettings]: '{"extensionId":""}' }, /WC_BROWSER_SETTINGS is malformed at extensionId/],
    ["context without id", { [NodeEnv.browserSettings]: '{"context":{"persist":true}}' }, /WC_BROWSER_SETTINGS is malformed at context.id/],
    ["persist not a boolean", { [NodeEnv.browserSettings]: '{"context":{"id":"c","persist":"yes"}}' }, /WC_BROWSER_SETTINGS is malformed at context.persist/],
    ["logSession not a boolean", { [NodeEnv.browserSettings]: '{"logSession":0}' }, /WC_BROWSER_SETTINGS is malformed at logSession/],
    ["JWKS key without kty", { [NodeEnv.jwks]: '{"keys":[{"kty":"EC"},{"x":"1"}]}' }, /WC_JWKS is malformed at keys.1.kty/],
  ];
  it.each(bad)("rejects %s, naming the variable", (_name, change, message) => {
    expect(() => readConfig({ ...valid(), ...change })).toThrow(message);
  });

  it("reads the session's proxy routes and the egress switches, refusing malformed ones by name", () => {
    const routes = [{ server: "http://127.0.0.1:3128", username: "u", password: "p", managed: true }, { domainPattern: "internal" }];
    const config = readConfig({ ...valid(), [NodeEnv.proxies]: JSON.stringify(routes), [NodeEnv.egressAllowLoopback]: "1" });
    expect(config.proxies).toEqual(routes);
    expect(config.egress).toEqual({ allowLoopback: true, offline: false });
    expect(readConfig(valid()).egress).toEqual({ allowLoopback: false, offline: false });
    expect(() => readConfig({ ...valid(), [NodeEnv.proxies]: '[{"server": 5}]' })).toThrow(`${NodeEnv.proxies} is malformed at 0.server: expected a string`);
    expect(() => readConfig({ ...valid(), [NodeEnv.egressAllowLoopback]: "yes" })).toThrow(`${NodeEnv.egressAllowLoopback} must be "1" or "0"`);
    expect(() => readConfig({ ...valid(), [NodeEnv.browserSettings]: '{"allowedDomains": "example.com"}' })).toThrow("allowedDomains: expected an array of strings");
  });

  it("never echoes the link token in an error", () => {
    expect(() => readConfig({ ...valid(), [NodeEnv.expiresAt]: "x" })).not.toThrow(/secret-link-token/);
  });
});

describe("launch flags from browser settings", () => {
  it("turns the viewport into a window size and keeps Chromium's port private", () => {
    const flags = launchFlags({ viewport: { width: 1280, height: 720 } }, "/tmp/profile");
    expect(flags).toContain("--window-size=1280,720");
    expect(flags).toContain("--user-data-dir=/tmp/profile");
    expect(flags).toContain("--remote-debugging-port=0");
    expect(flags.some((f) => f.startsWith("--remote-allow-origins"))).toBe(false);
  });

  it("sends every request through the egress proxy, loopback included, only when given one", () => {
    const flags = launchFlags({}, "/tmp/p", { egressPort: 4321 });
    expect(flags).toContain("--proxy-server=http://127.0.0.1:4321");
    expect(flags).toContain("--proxy-bypass-list=<-loopback>");
    expect(launchFlags({}, "/tmp/p").filter((f) => f.startsWith("--proxy"))).toEqual([]);
  });

  it("sizes the window of a session that names no viewport with the default one", () => {
    expect(launchFlags({}, "/tmp/p")).toContain(`--window-size=${DEFAULT_VIEWPORT.width},${DEFAULT_VIEWPORT.height}`);
  });
});

describe("the node process with a bad environment", () => {
  let edge: FakeEdge;
  beforeAll(async () => {
    edge = await FakeEdge.start();
  });
  afterAll(() => edge.stop());

  it("prints one line naming the variable, reports the exit over its link, and exits 2", async () => {
    const sessionId = randomUUID();
    const node = startNode({ edgeUrl: edge.url, sessionId, linkToken: await edge.linkToken(sessionId), env: { [NodeEnv.expiresAt]: "not-a-date" } });
    expect((await node.exited).code).toBe(2);
    const lines = node.stderr().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WC_EXPIRES_AT/);
    // The fake edge takes a link only with a valid link token for this session, so the exit
    // below came over the link (the node has no HTTP callback for it any more).
    expect(edge.linkAttempts.filter((a) => a.sessionId === sessionId)).toEqual([{ sessionId, status: 101 }]);
    expect(edge.messages(sessionId)).toEqual([{ t: "exit", reason: "error", detail: expect.stringMatching(/^invalid configuration: WC_EXPIRES_AT must be an ISO-8601 instant/) }]);
    expect(edge.linkCloses.filter((c) => c.sessionId === sessionId)).toEqual([{ sessionId, code: 1000, reason: "node exited" }]);
  });

  it("reports browser settings it refuses over its link (the bundle, as the image runs it)", async () => {
    const sessionId = randomUUID();
    const linkToken = await edge.linkToken(sessionId);
    const node = startNode({ edgeUrl: edge.url, sessionId, linkToken, bundle: true, env: { [NodeEnv.browserSettings]: '{"viewport":{"width":1280,"height":50}}' } });
    expect((await node.exited).code).toBe(2);
    const [exit, ...more] = edge.messages(sessionId);
    expect(more).toEqual([]);
    expect(exit.t).toBe("exit");
    expect(exit.reason).toBe("error");
    expect(exit.detail).toMatch(/WC_BROWSER_SETTINGS is malformed at viewport\.height: expected a whole number from 100 to 4320/);
    expect(exit.detail).not.toContain(linkToken);
  });

  it("reports nothing when it cannot tell which session it is", async () => {
    const node = startNode({ edgeUrl: edge.url, sessionId: "not-a-uuid", linkToken: await edge.linkToken("not-a-uuid") });
    expect((await node.exited).code).toBe(2);
    expect(node.stderr()).toMatch(/WC_SESSION_ID must be a UUID/);
    expect(edge.linkAttempts.filter((a) => a.sessionId === "not-a-uuid")).toEqual([]);
    expect(edge.messages("not-a-uuid")).toEqual([]);
  });

  it("exits 2, unreported, when not even the link can be opened", async () => {
    const sessionId = randomUUID();
    const node = startNode({ edgeUrl: edge.url, sessionId, linkToken: "", env: { [NodeEnv.expiresAt]: "not-a-date" } });
    expect((await node.exited).code).toBe(2);
    // The link's own settings are read first: the line names what keeps the node from the edge.
    expect(node.stderr().trim().split("\n")).toEqual([expect.stringMatching(/WC_LINK_TOKEN is required/)]);
    expect(edge.linkAttempts.filter((a) => a.sessionId === sessionId)).toEqual([]);
  });
});
