/**
 * The node's configuration in two parts (docs/pool.md): the boot configuration, read only from
 * the environment (RunTask container overrides in AWS, the child-process environment locally;
 * names from `NodeEnv`), and the session's part, from the `Assignment` the pool link brings.
 * Anything missing or malformed throws a `NodeError` whose message names it (the variable, or the
 * assignment's field). The browser settings follow the rules the edge checks them by
 * (`edge/browser-settings.ts`).
 */
import { normalizeBrowserSettings, type BrowserSettings } from "../edge/browser-settings.ts";
import { CONNECT_MODES, NodeEnv, POOL_NAME, type Assignment, type ConnectMode, type ProxyRoute } from "../edge/node-protocol.ts";
import { NodeError } from "./node-error.ts";

export type { BrowserSettings, Viewport } from "../edge/browser-settings.ts";

/** What is wrong with a JSON value, and where (a dotted path). */
type Problem = { at: string; message: string };
type Check<T> = (value: unknown) => { ok: T } | Problem;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const checkJwks: Check<{ keys: Record<string, unknown>[] }> = (v) => {
  if (!isObject(v) || !Array.isArray(v.keys)) return { at: "keys", message: "expected an array" };
  if (v.keys.length === 0) return { at: "keys", message: "expected at least one key" };
  const bad = v.keys.findIndex((key) => !isObject(key) || typeof key.kty !== "string");
  if (bad >= 0) return { at: `keys.${bad}.kty`, message: "expected a string" };
  return { ok: { keys: v.keys as Record<string, unknown>[] } };
};

const ROUTE_FIELDS = ["domainPattern", "server", "username", "password"] as const;

/** The shape of the assignment's `proxies`; what each field may hold is the egress proxy's to check (egress/policy.ts). */
const checkRoutes: Check<ProxyRoute[]> = (v) => {
  if (!Array.isArray(v)) return { at: "(root)", message: "expected an array" };
  for (const [i, route] of v.entries()) {
    if (!isObject(route)) return { at: String(i), message: "expected an object" };
    const bad = ROUTE_FIELDS.find((f) => route[f] !== undefined && typeof route[f] !== "string");
    if (bad) return { at: `${i}.${bad}`, message: "expected a string" };
    if (route.managed !== undefined && typeof route.managed !== "boolean") return { at: `${i}.managed`, message: "expected a boolean" };
  }
  return { ok: v as ProxyRoute[] };
};

/** The node before any session: where the edge is, who it is in which pool, and its limits. */
export interface BootConfig {
  edgeUrl: URL;
  /**
   * Where the node's WebSockets (its links, its channels) dial: the edge, or WC_EDGE_SOCKET_URL,
   * locally workerd past the front door, which exists for HTTP keep-alive races a WebSocket's own
   * connection never meets (skipping it takes one relay off every CDP message).
   */
  edgeSocketUrl: URL;
  pool: string;
  /** A UUID; a reserved member's is its session's id. */
  memberId: string;
  /** Opens the pool link and nothing else. */
  bootstrapToken: string;
  /** Started for one session (the cold path): wait for the assignment, then launch with its settings. */
  reserved: boolean;
  /** Direct mode: 0 asks the OS for a free port (the node reports the one it got). */
  proxyPort: number;
  advertiseHost?: string;
  chromiumPath: string;
  idleGraceMs: number;
  connectDeadlineMs: number;
  readyDeadlineMs: number;
  egress: { allowLoopback: boolean; offline: boolean };
}

/** Where, and as which session, the node opens its session link: all the link takes. */
export interface EdgeContact {
  sessionId: string;
  edgeUrl: URL;
  edgeSocketUrl: URL;
  /** Opens the session link and nothing else; the node token comes over the link (`welcome`). */
  linkToken: string;
}

/** The node serving its session: the boot configuration and the assignment's part. */
export interface NodeConfig extends BootConfig, EdgeContact {
  projectId: string;
  /** edge: no port at all, clients come through the edge; direct: the proxy listens for them. */
  connectMode: ConnectMode;
  /** The edge's keys, for direct mode's proxy; undefined → fetch `<edge>/.well-known/jwks.json`. */
  jwks?: { keys: Record<string, unknown>[] };
  expiresAt: Date;
  keepAlive: boolean;
  browserSettings: BrowserSettings;
  /** The session's upstream proxies, in order (`[]`: every request goes direct). */
  proxies: ProxyRoute[];
}

type Env = Record<string, string | undefined>;

function fail(name: string, problem: string): never {
  throw new NodeError("error", `invalid configuration: ${name} ${problem}`);
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === "") fail(name, "is required");
  return value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) fail(name, `must be a whole number (got ${JSON.stringify(raw)})`);
  const value = Number(raw);
  if (value < min || value > max) fail(name, `must be between ${min} and ${max} (got ${value})`);
  return value;
}

function flag(env: Env, name: string): boolean {
  const raw = env[name]?.trim() ?? "";
  if (raw !== "" && raw !== "0" && raw !== "1") fail(name, `must be "1" or "0" (got ${JSON.stringify(raw)})`);
  return raw === "1";
}

const DAY_MS = 24 * 3600_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Who the node is and where its pool is: enough to reach its pool, even when the rest of the boot configuration is refused. */
export type BootContact = Pick<BootConfig, "edgeUrl" | "edgeSocketUrl" | "pool" | "memberId" | "bootstrapToken" | "reserved">;

/** An http(s) URL from the environment. */
function httpUrl(name: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail(name, "is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") fail(name, "must be http(s)");
  return url;
}

function bootContact(env: Env): BootContact {
  const edgeUrl = httpUrl(NodeEnv.edgeUrl, required(env, NodeEnv.edgeUrl));
  const socketRaw = env[NodeEnv.edgeSocketUrl];
  const edgeSocketUrl = socketRaw ? httpUrl(NodeEnv.edgeSocketUrl, socketRaw) : edgeUrl;
  const pool = required(env, NodeEnv.pool);
  if (!POOL_NAME.test(pool)) fail(NodeEnv.pool, "must be 1-64 lowercase letters, digits or '-' (an ECS region's name)");
  const memberId = required(env, NodeEnv.memberId);
  if (!UUID.test(memberId)) fail(NodeEnv.memberId, "must be a UUID");
  return { edgeUrl, edgeSocketUrl, pool, memberId, bootstrapToken: required(env, NodeEnv.bootstrapToken), reserved: flag(env, NodeEnv.reserved) };
}

/** The boot contact when it parses (the rest of the environment may not); undefined otherwise. */
export function readBootContact(env: Env = process.env): BootContact | undefined {
  try {
    return bootContact(env);
  } catch {
    return undefined;
  }
}

export function readBootConfig(env: Env = process.env): BootConfig {
  const contact = bootContact(env);
  const advertiseHost = env[NodeEnv.advertiseHost]?.trim() || undefined;
  if (advertiseHost && !/^[A-Za-z0-9.\-:[\]]+$/.test(advertiseHost)) fail(NodeEnv.advertiseHost, "is not a host name");
  return {
    ...contact,
    proxyPort: integer(env, NodeEnv.proxyPort, 9223, 0, 65535),
    advertiseHost,
    chromiumPath: env[NodeEnv.chromiumPath]?.trim() || "/usr/lib/chromium/chromium",
    idleGraceMs: integer(env, NodeEnv.idleGraceMs, 10_000, 0, DAY_MS),
    connectDeadlineMs: integer(env, NodeEnv.connectDeadlineMs, 300_000, 1, DAY_MS),
    readyDeadlineMs: integer(env, NodeEnv.readyDeadlineMs, 60_000, 1, DAY_MS),
    egress: { allowLoopback: flag(env, NodeEnv.egressAllowLoopback), offline: flag(env, NodeEnv.egressOffline) },
  };
}

/** What is wrong with an assignment (the edge checked it, so this is a bug there). */
function refuse(field: string, problem: string): never {
  throw new NodeError("error", `invalid assignment: ${field} ${problem}`);
}

function checked<T>(field: string, value: unknown, check: Check<T>): T {
  const result = check(value);
  if ("at" in result) refuse(field, `is malformed at ${result.at}: ${result.message}`);
  return result.ok;
}

/**
 * Enough of an assignment to open its session link and tell the edge why the node cannot serve
 * it, when the rest is refused; undefined when even this part is unusable.
 */
export function assignmentContact(boot: Pick<BootConfig, "edgeUrl" | "edgeSocketUrl">, a: Partial<Assignment> | undefined): EdgeContact | undefined {
  if (!isObject(a) || typeof a.sessionId !== "string" || !UUID.test(a.sessionId)) return undefined;
  if (typeof a.linkToken !== "string" || a.linkToken === "") return undefined;
  return { sessionId: a.sessionId, edgeUrl: boot.edgeUrl, edgeSocketUrl: boot.edgeSocketUrl, linkToken: a.linkToken };
}

/** The session's configuration: the boot configuration with the assignment's part, checked. */
export function sessionConfig(boot: BootConfig, a: Partial<Assignment>): NodeConfig {
  if (!isObject(a)) refuse("(root)", "is not an object");
  if (typeof a.sessionId !== "string" || !UUID.test(a.sessionId)) refuse("sessionId", "must be a UUID");
  if (typeof a.linkToken !== "string" || a.linkToken === "") refuse("linkToken", "is required");
  if (typeof a.projectId !== "string" || a.projectId === "") refuse("projectId", "is required");
  if (typeof a.expiresAt !== "number" || !Number.isFinite(a.expiresAt) || a.expiresAt <= 0) refuse("expiresAt", "must be epoch milliseconds");
  if (typeof a.keepAlive !== "boolean") refuse("keepAlive", "must be a boolean");
  const connectMode = a.connectMode ?? "edge";
  if (!CONNECT_MODES.includes(connectMode)) refuse("connectMode", `must be one of ${CONNECT_MODES.map((m) => `"${m}"`).join(", ")}`);
  return {
    ...boot,
    sessionId: a.sessionId,
    linkToken: a.linkToken,
    projectId: a.projectId,
    connectMode,
    jwks: a.jwks === undefined ? undefined : checked("jwks", a.jwks, checkJwks),
    expiresAt: new Date(a.expiresAt),
    keepAlive: a.keepAlive,
    browserSettings: a.browserSettings === undefined ? {} : checked("browserSettings", a.browserSettings, normalizeBrowserSettings),
    proxies: a.proxies === undefined ? [] : checked("proxies", a.proxies, checkRoutes),
  };
}
