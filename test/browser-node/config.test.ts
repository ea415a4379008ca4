/** The boot configuration comes only from the environment, the session's from its assignment; a bad value names itself. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_VIEWPORT } from "../../edge/browser-settings.ts";
import { NodeEnv, type Assignment } from "../../edge/node-protocol.ts";
import { readBootConfig, sessionConfig } from "../../browser-node/config.ts";
import { launchFlags, WINDOW_UI_HEIGHT } from "../../browser-node/chromium/flags.ts";
import { FakeEdge } from "./support/fake-edge.ts";
import { startNode } from "./support/node-process.ts";

const validEnv = () => ({
  [NodeEnv.edgeUrl]: "http://127.0.0.1:8787",
  [NodeEnv.pool]: "us-east-1",
  [NodeEnv.memberId]: randomUUID(),
  [NodeEnv.bootstrapToken]: "secret-bootstrap-token",
});

const validAssignment = (): Assignment => ({
  sessionId: randomUUID(),
  projectId: "project-1",
  expiresAt: Date.now() + 60_000,
  keepAlive: false,
  connectMode: "edge",
  browserSettings: {},
  proxies: [],
  linkToken: "secret-link-token",
  jwks: { keys: [{ kty: "EC", crv: "P-256", x: "a", y: "b" }] },
});

describe("readBootConfig", () => {
  it("reads a minimal environment with the documented defaults", () => {
    const boot = readBootConfig(validEnv());
    expect(boot).toMatchObject({
      pool: "us-east-1",
      bootstrapToken: "secret-bootstrap-token",
      reserved: false,
      proxyPort: 9223,
      chromiumPath: "/usr/lib/chromium/chromium",
      idleGraceMs: 10_000,
      connectDeadlineMs: 300_000,
      readyDeadlineMs: 60_000,
      egress: { allowLoopback: false, offline: false },
    });
    expect(boot.advertiseHost).toBeUndefined();
    // WebSockets dial the edge itself.
    expect(boot.edgeSocketUrl.href).toBe("http://127.0.0.1:8787/");
    // Nothing of a session is in the environment any more.
    expect(boot).not.toHaveProperty("sessionId");
    expect(boot).not.toHaveProperty("linkToken");
  });

  it("reads every optional value", () => {
    const boot = readBootConfig({
      ...validEnv(),
      [NodeEnv.reserved]: "1",
      [NodeEnv.proxyPort]: "0",
      [NodeEnv.advertiseHost]: "127.0.0.1",
      [NodeEnv.idleGraceMs]: "250",
      [NodeEnv.egressAllowLoopback]: "1",
      [NodeEnv.edgeSocketUrl]: "http://127.0.0.1:9999",
    });
    expect(boot).toMatchObject({ reserved: true, proxyPort: 0, advertiseHost: "127.0.0.1", idleGraceMs: 250, egress: { allowLoopback: true, offline: false } });
    expect(boot.edgeSocketUrl.href).toBe("http://127.0.0.1:9999/");
    expect(boot.edgeUrl.href).toBe("http://127.0.0.1:8787/");
  });

  const bad: Array<[string, Record<string, string | undefined>, RegExp]> = [
    ["missing member id", { [NodeEnv.memberId]: undefined }, /WC_MEMBER_ID is required/],
    ["member id not a UUID", { [NodeEnv.memberId]: "abc" }, /WC_MEMBER_ID must be a UUID/],
    ["missing pool", { [NodeEnv.pool]: " " }, /WC_POOL is required/],
    ["pool with a slash", { [NodeEnv.pool]: "a/b" }, /WC_POOL must be/],
    ["pool in capitals (no region is)", { [NodeEnv.pool]: "US-EAST-1" }, /WC_POOL must be/],
    ["missing bootstrap token", { [NodeEnv.bootstrapToken]: " " }, /WC_BOOTSTRAP_TOKEN is required/],
    ["edge URL not a URL", { [NodeEnv.edgeUrl]: "edge" }, /WC_EDGE_URL is not a URL/],
    ["edge socket URL not http(s)", { [NodeEnv.edgeSocketUrl]: "ftp://127.0.0.1" }, /WC_EDGE_SOCKET_URL must be http\(s\)/],
    ["reserved not a flag", { [NodeEnv.reserved]: "yes" }, /WC_MEMBER_RESERVED must be "1" or "0"/],
    ["port out of range", { [NodeEnv.proxyPort]: "70000" }, /WC_PROXY_PORT must be between 0 and 65535/],
    ["port not a number", { [NodeEnv.proxyPort]: "92a3" }, /WC_PROXY_PORT must be a whole number/],
    ["egress flag not a flag", { [NodeEnv.egressAllowLoopback]: "yes" }, /WC_EGRESS_ALLOW_LOOPBACK must be "1" or "0"/],
  ];
  it.each(bad)("rejects %s, naming the variable", (_name, change, message) => {
    expect(() => readBootConfig({ ...validEnv(), ...change })).toThrow(message);
  });

  it("never echoes the bootstrap token in an error", () => {
    expect(() => readBootConfig({ ...validEnv(), [NodeEnv.proxyPort]: "x" })).not.toThrow(/secret-bootstrap-token/);
  });
});

describe("sessionConfig (the assignment)", () => {
  const boot = () => readBootConfig(validEnv());

  it("takes the session's part over the boot configuration", () => {
    const a = validAssignment();
    const config = sessionConfig(boot(), {
      ...a,
      keepAlive: true,
      connectMode: "direct",
      browserSettings: { viewport: { width: 1280, height: 720, extra: 1 }, blockAds: true, context: { id: "ctx", persist: true }, logSession: false },
      proxies: [{ server: "http://127.0.0.1:3128", username: "u", password: "p", managed: true }, { domainPattern: "internal" }],
    });
    expect(config).toMatchObject({ sessionId: a.sessionId, projectId: "project-1", linkToken: "secret-link-token", keepAlive: true, connectMode: "direct", pool: "us-east-1" });
    expect(config.expiresAt.getTime()).toBe(a.expiresAt);
    expect(config.browserSettings).toEqual({ viewport: { width: 1280, height: 720 }, blockAds: true, context: { id: "ctx", persist: true }, logSession: false });
    expect(config.proxies).toHaveLength(2);
    expect(config.jwks?.keys).toHaveLength(1);
  });

  it("fills a side the viewport leaves out from the default, as the edge does", () => {
    const config = sessionConfig(boot(), { ...validAssignment(), browserSettings: { viewport: { width: 1280 } } });
    expect(config.browserSettings.viewport).toEqual({ width: 1280, height: DEFAULT_VIEWPORT.height });
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ["session id not a UUID", { sessionId: "abc" }, /invalid assignment: sessionId must be a UUID/],
    ["no link token", { linkToken: "" }, /invalid assignment: linkToken is required/],
    ["unknown connect mode", { connectMode: "tunnel" }, /connectMode must be one of "edge", "direct"/],
    ["expiresAt not a number", { expiresAt: "tomorrow" }, /expiresAt must be epoch milliseconds/],
    ["keepAlive not a boolean", { keepAlive: "yes" }, /keepAlive must be a boolean/],
    ["JWKS without keys", { jwks: { keys: [] } }, /jwks is malformed at keys/],
    ["JWKS key without kty", { jwks: { keys: [{ kty: "EC" }, { x: "1" }] } }, /jwks is malformed at keys.1.kty/],
    ["viewport too small", { browserSettings: { viewport: { width: 10, height: 10 } } }, /browserSettings is malformed at viewport.width/],
    ["settings not an object", { browserSettings: [1] }, /browserSettings is malformed at \(root\)/],
    ["empty extension id", { browserSettings: { extensionId: "" } }, /browserSettings is malformed at extensionId/],
    ["context without id", { browserSettings: { context: { persist: true } } }, /browserSettings is malformed at context.id/],
    ["allowedDomains not an array", { browserSettings: { allowedDomains: "example.com" } }, /allowedDomains: expected an array of strings/],
    ["a proxy server not a string", { proxies: [{ server: 5 }] }, /proxies is malformed at 0.server: expected a string/],
  ];
  it.each(bad)("refuses %s, naming the field", (_name, change, message) => {
    expect(() => sessionConfig(boot(), { ...validAssignment(), ...change })).toThrow(message);
  });

  it("never echoes the link token in an error", () => {
    expect(() => sessionConfig(boot(), { ...validAssignment(), keepAlive: "x" as never })).not.toThrow(/secret-link-token/);
  });
});

describe("launch flags from browser settings", () => {
  it("turns the viewport into a window size and keeps Chromium's port private", () => {
    const flags = launchFlags({ viewport: { width: 1280, height: 720 } }, "/tmp/profile");
    expect(flags).toContain(`--window-size=1280,${720 + WINDOW_UI_HEIGHT}`); // the page gets the viewport, the UI the rest
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
    expect(launchFlags({}, "/tmp/p")).toContain(`--window-size=${DEFAULT_VIEWPORT.width},${DEFAULT_VIEWPORT.height + WINDOW_UI_HEIGHT}`);
  });
});

describe("the node process with a bad configuration", () => {
  let edge: FakeEdge;
  beforeAll(async () => {
    edge = await FakeEdge.start();
  });
  afterAll(() => edge.stop());

  it("prints one line naming the variable and exits 2 without dialing anything", async () => {
    const node = await startNode({ edge, env: { [NodeEnv.memberId]: "not-a-uuid" }, assign: false });
    expect((await node.exited).code).toBe(2);
    expect(node.stderr().trim().split("\n")).toEqual([expect.stringMatching(/WC_MEMBER_ID must be a UUID/)]);
    expect(edge.poolLinkAttempts.filter((a) => a.memberId === "not-a-uuid")).toEqual([]);
  });

  it("reports an assignment it cannot take over the session's link and exits 2 (the bundle, as the image runs it)", async () => {
    const node = await startNode({ edge, bundle: true, assignment: { browserSettings: { viewport: { width: 1280, height: 50 } } } });
    expect((await node.exited).code).toBe(2);
    const [exit, ...more] = edge.messages(node.sessionId);
    expect(more).toEqual([]);
    expect(exit).toMatchObject({ t: "exit", reason: "error" });
    expect(exit.detail).toMatch(/invalid assignment: browserSettings is malformed at viewport\.height: expected a whole number from 100 to 4320/);
    expect(exit.detail).not.toContain(node.assignment.linkToken);
    expect(edge.linkCloses.filter((c) => c.sessionId === node.sessionId)).toEqual([{ sessionId: node.sessionId, code: 1000, reason: "node exited" }]);
    expect(node.stderr().trim().split("\n")).toEqual([expect.stringMatching(/invalid assignment: browserSettings/)]);
    const started = node.logs.find((l) => l.event === "browser-started");
    expect(started).toBeDefined(); // it was warm, and stopped its browser
  });

  it("reports nothing when the assignment names no usable session", async () => {
    const node = await startNode({ edge, assignment: { sessionId: "not-a-uuid" } });
    expect((await node.exited).code).toBe(2);
    expect(node.stderr()).toMatch(/sessionId must be a UUID/);
    expect(edge.linkAttempts.filter((a) => a.sessionId === "not-a-uuid")).toEqual([]);
  });
});
