/**
 * The node's configuration, read only from the environment (RunTask container overrides in AWS,
 * the child-process environment locally). Names come from `NodeEnv` in the shared protocol.
 * Any missing or malformed value throws a `NodeError` whose message names the variable.
 */
import { CONNECT_MODES, NodeEnv, type ConnectMode } from "../edge/node-protocol.ts";
import { NodeError } from "./node-error.ts";

export interface Viewport {
  width: number;
  height: number;
}

/** The part of Browserbase's `browserSettings` the node applies; other keys are kept for later. */
export interface BrowserSettings {
  viewport?: Viewport;
  /** Fetched from the edge and loaded unpacked (the edge folds a top-level `extensionId` in here). */
  extensionId?: string;
  /** Start from this context's saved profile; with `persist`, save the profile back at the end. */
  context?: { id: string; persist?: boolean; [key: string]: unknown };
  /** false: record no CDP traffic (default true). */
  logSession?: boolean;
  /** false: record no rrweb events (default true). */
  recordSession?: boolean;
  [key: string]: unknown;
}

/** What is wrong with a JSON value, and where (a dotted path). */
type Problem = { at: string; message: string };
type Check<T> = (value: unknown) => { ok: T } | Problem;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isName = (v: unknown) => typeof v === "string" && v.length > 0;

const checkBrowserSettings: Check<BrowserSettings> = (v) => {
  if (!isObject(v)) return { at: "(root)", message: "expected an object" };
  const settings: BrowserSettings = { ...v };
  if (v.viewport !== undefined) {
    const viewport = v.viewport;
    if (!isObject(viewport)) return { at: "viewport", message: "expected an object" };
    for (const [side, max] of [["width", 7680], ["height", 4320]] as const) {
      const n = viewport[side];
      if (typeof n !== "number" || !Number.isInteger(n) || n < 100 || n > max) {
        return { at: `viewport.${side}`, message: `expected a whole number from 100 to ${max}` };
      }
    }
    settings.viewport = { width: viewport.width as number, height: viewport.height as number };
  }
  if (v.extensionId !== undefined && !isName(v.extensionId)) return { at: "extensionId", message: "expected a non-empty string" };
  if (v.context !== undefined) {
    if (!isObject(v.context)) return { at: "context", message: "expected an object" };
    if (!isName(v.context.id)) return { at: "context.id", message: "expected a non-empty string" };
    if (v.context.persist !== undefined && typeof v.context.persist !== "boolean") return { at: "context.persist", message: "expected a boolean" };
  }
  for (const flag of ["logSession", "recordSession"]) {
    if (v[flag] !== undefined && typeof v[flag] !== "boolean") return { at: flag, message: "expected a boolean" };
  }
  return { ok: settings };
};

const checkJwks: Check<{ keys: Record<string, unknown>[] }> = (v) => {
  if (!isObject(v) || !Array.isArray(v.keys)) return { at: "keys", message: "expected an array" };
  if (v.keys.length === 0) return { at: "keys", message: "expected at least one key" };
  const bad = v.keys.findIndex((key) => !isObject(key) || typeof key.kty !== "string");
  if (bad >= 0) return { at: `keys.${bad}.kty`, message: "expected a string" };
  return { ok: { keys: v.keys as Record<string, unknown>[] } };
};

export interface NodeConfig {
  sessionId: string;
  projectId: string;
  edgeUrl: URL;
  /** Opens the link to the edge and nothing else; the node token comes over the link (`welcome`). */
  linkToken: string;
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

/** Just what opening the link takes, when the rest of the environment is unusable; undefined when even this is. */
export function readLinkConfig(env: Env = process.env): { sessionId: string; edgeUrl: URL; linkToken: string } | undefined {
  try {
    const sessionId = required(env, NodeEnv.sessionId);
    const edgeUrl = new URL(required(env, NodeEnv.edgeUrl));
    if (!UUID.test(sessionId) || (edgeUrl.protocol !== "http:" && edgeUrl.protocol !== "https:")) return undefined;
    return { sessionId, edgeUrl, linkToken: required(env, NodeEnv.linkToken) };
  } catch {
    return undefined;
  }
}

export function readConfig(env: Env = process.env): NodeConfig {
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
    sessionId,
    projectId: required(env, NodeEnv.projectId),
    edgeUrl,
    linkToken: required(env, NodeEnv.linkToken),
    connectMode,
    jwks: json(env, NodeEnv.jwks, checkJwks),
    expiresAt,
    keepAlive: keepAliveRaw === "true",
    browserSettings: json(env, NodeEnv.browserSettings, checkBrowserSettings) ?? {},
    proxyPort: integer(env, NodeEnv.proxyPort, 9223, 0, 65535),
    advertiseHost,
    chromiumPath: env[NodeEnv.chromiumPath]?.trim() || "/usr/lib/chromium/chromium",
    idleGraceMs: integer(env, NodeEnv.idleGraceMs, 10_000, 0, DAY_MS),
    connectDeadlineMs: integer(env, NodeEnv.connectDeadlineMs, 300_000, 1, DAY_MS),
    readyDeadlineMs: integer(env, NodeEnv.readyDeadlineMs, 60_000, 1, DAY_MS),
  };
}
