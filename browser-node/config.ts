/**
 * The node's configuration, read only from the environment (RunTask container overrides in AWS,
 * the child-process environment locally). Names come from `NodeEnv` in the shared protocol.
 * Any missing or malformed value throws a `NodeError` whose message names the variable. The
 * browser settings follow the rules the edge checks them by (`edge/browser-settings.ts`).
 */
import { normalizeBrowserSettings, type BrowserSettings } from "../edge/browser-settings.ts";
import { CONNECT_MODES, NodeEnv, type ConnectMode, type ProxyRoute } from "../edge/node-protocol.ts";
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

/** The shape of `WC_PROXIES`; what each field may hold is the egress proxy's to check (egress/policy.ts). */
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

/** Where, and as which session, the node opens its link to the edge: all the link takes. */
export interface EdgeContact {
  sessionId: string;
  edgeUrl: URL;
  /** Opens the link to the edge and nothing else; the node token comes over the link (`welcome`). */
  linkToken: string;
}

export interface NodeConfig extends EdgeContact {
  projectId: string;
  /** edge: no port at all, clients come through the edge; direct: the proxy listens for them. */
  connectMode: ConnectMode;
  /** Parsed `{keys: [...]}`; undefined → fetch `<edge>/.well-known/jwks.json` (direct mode's proxy only). */
  jwks?: { keys: Record<string, unknown>[] };
  expiresAt: Date;
  keepAlive: boolean;
  browserSettings: BrowserSettings;
  /** Direct mode: 0 asks the OS for a free port (the node reports the one it got). */
  proxyPort: number;
  advertiseHost?: string;
  chromiumPath: string;
  idleGraceMs: number;
  connectDeadlineMs: number;
  readyDeadlineMs: number;
  /** The session's upstream proxies, in order (`[]`: every request goes direct). */
  proxies: ProxyRoute[];
  egress: { allowLoopback: boolean; offline: boolean };
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

function json<T>(env: Env, name: string, check: Check<T>): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    fail(name, "is not valid JSON");
  }
  const result = check(parsed);
  if ("at" in result) fail(name, `is malformed at ${result.at}: ${result.message}`);
  return result.ok;
}

const DAY_MS = 24 * 3600_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function edgeContact(env: Env): EdgeContact {
  const sessionId = required(env, NodeEnv.sessionId);
  if (!UUID.test(sessionId)) fail(NodeEnv.sessionId, "must be a UUID");

  const edgeRaw = required(env, NodeEnv.edgeUrl);
  let edgeUrl: URL;
  try {
    edgeUrl = new URL(edgeRaw);
  } catch {
    fail(NodeEnv.edgeUrl, "is not a URL");
  }
  if (edgeUrl.protocol !== "http:" && edgeUrl.protocol !== "https:") fail(NodeEnv.edgeUrl, "must be http(s)");
  return { sessionId, edgeUrl, linkToken: required(env, NodeEnv.linkToken) };
}

/**
 * Enough of the environment to open the link and tell the edge why the node cannot start, when
 * the rest of it is refused; undefined when even this part is missing or malformed.
 */
export function readEdgeContact(env: Env = process.env): EdgeContact | undefined {
  try {
    return edgeContact(env);
  } catch {
    return undefined;
  }
}

export function readConfig(env: Env = process.env): NodeConfig {
  const contact = edgeContact(env);

  const expiresRaw = required(env, NodeEnv.expiresAt);
  const expiresAt = new Date(expiresRaw);
  if (!/^\d{4}-\d\d-\d\dT/.test(expiresRaw) || Number.isNaN(expiresAt.getTime())) {
    fail(NodeEnv.expiresAt, `must be an ISO-8601 instant (got ${JSON.stringify(expiresRaw)})`);
  }

  const keepAliveRaw = (env[NodeEnv.keepAlive] ?? "false").trim() || "false";
  if (keepAliveRaw !== "true" && keepAliveRaw !== "false") fail(NodeEnv.keepAlive, 'must be "true" or "false"');

  const connectMode = (env[NodeEnv.connectMode]?.trim() || "edge") as ConnectMode;
  if (!CONNECT_MODES.includes(connectMode)) fail(NodeEnv.connectMode, `must be one of ${CONNECT_MODES.map((m) => `"${m}"`).join(", ")}`);

  const advertiseHost = env[NodeEnv.advertiseHost]?.trim() || undefined;
  if (advertiseHost && !/^[A-Za-z0-9.\-:[\]]+$/.test(advertiseHost)) fail(NodeEnv.advertiseHost, "is not a host name");

  return {
    ...contact,
    projectId: required(env, NodeEnv.projectId),
    connectMode,
    jwks: json(env, NodeEnv.jwks, checkJwks),
    expiresAt,
    keepAlive: keepAliveRaw === "true",
    browserSettings: json(env, NodeEnv.browserSettings, normalizeBrowserSettings) ?? {},
    proxyPort: integer(env, NodeEnv.proxyPort, 9223, 0, 65535),
    advertiseHost,
    chromiumPath: env[NodeEnv.chromiumPath]?.trim() || "/usr/lib/chromium/chromium",
    idleGraceMs: integer(env, NodeEnv.idleGraceMs, 10_000, 0, DAY_MS),
    connectDeadlineMs: integer(env, NodeEnv.connectDeadlineMs, 300_000, 1, DAY_MS),
    readyDeadlineMs: integer(env, NodeEnv.readyDeadlineMs, 60_000, 1, DAY_MS),
    proxies: json(env, NodeEnv.proxies, checkRoutes) ?? [],
    egress: { allowLoopback: flag(env, NodeEnv.egressAllowLoopback), offline: flag(env, NodeEnv.egressOffline) },
  };
}
