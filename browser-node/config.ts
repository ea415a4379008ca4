/**
 * The node's configuration, read only from the environment (RunTask container overrides in AWS,
 * the child-process environment locally). Names come from `NodeEnv` in the shared protocol.
 * Any missing or malformed value throws a `NodeError` whose message names the variable.
 */
import { z } from "zod";
import { NodeEnv } from "../edge/node-protocol.ts";
import { NodeError } from "./node-error.ts";

export interface Viewport {
  width: number;
  height: number;
}

/** The part of Browserbase's `browserSettings` the node applies; other keys are kept for later. */
export const BrowserSettings = z
  .object({
    viewport: z
      .object({ width: z.number().int().min(100).max(7680), height: z.number().int().min(100).max(4320) })
      .optional(),
    /** Fetched from the edge and loaded unpacked (the edge folds a top-level `extensionId` in here). */
    extensionId: z.string().min(1).optional(),
    /** Start from this context's saved profile; with `persist`, save the profile back at the end. */
    context: z.object({ id: z.string().min(1), persist: z.boolean().optional() }).passthrough().optional(),
    /** false: record no CDP traffic (default true). */
    logSession: z.boolean().optional(),
    /** false: record no rrweb events (default true). */
    recordSession: z.boolean().optional(),
  })
  .passthrough();
export type BrowserSettings = z.infer<typeof BrowserSettings>;

const Jwks = z.object({ keys: z.array(z.object({ kty: z.string() }).passthrough()).min(1) });

export interface NodeConfig {
  sessionId: string;
  projectId: string;
  edgeUrl: URL;
  nodeToken: string;
  /** Parsed `{keys: [...]}`; undefined → fetch `<edge>/.well-known/jwks.json`. */
  jwks?: { keys: Record<string, unknown>[] };
  expiresAt: Date;
  keepAlive: boolean;
  browserSettings: BrowserSettings;
  /** 0 asks the OS for a free port (the node reports the one it got). */
  proxyPort: number;
  advertiseHost?: string;
  chromiumPath: string;
  idleGraceMs: number;
  connectDeadlineMs: number;
  readyDeadlineMs: number;
  heartbeatIntervalMs: number;
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

function json<T>(env: Env, name: string, schema: z.ZodType<T>): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    fail(name, "is not valid JSON");
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    fail(name, `is malformed at ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return result.data;
}

const DAY_MS = 24 * 3600_000;

export function readConfig(env: Env = process.env): NodeConfig {
  const sessionId = required(env, NodeEnv.sessionId);
  if (!z.string().uuid().safeParse(sessionId).success) fail(NodeEnv.sessionId, "must be a UUID");

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

  const advertiseHost = env[NodeEnv.advertiseHost]?.trim() || undefined;
  if (advertiseHost && !/^[A-Za-z0-9.\-:[\]]+$/.test(advertiseHost)) fail(NodeEnv.advertiseHost, "is not a host name");

  return {
    sessionId,
    projectId: required(env, NodeEnv.projectId),
    edgeUrl,
    nodeToken: required(env, NodeEnv.nodeToken),
    jwks: json(env, NodeEnv.jwks, Jwks) as NodeConfig["jwks"],
    expiresAt,
    keepAlive: keepAliveRaw === "true",
    browserSettings: json(env, NodeEnv.browserSettings, BrowserSettings) ?? {},
    proxyPort: integer(env, NodeEnv.proxyPort, 9223, 0, 65535),
    advertiseHost,
    chromiumPath: env[NodeEnv.chromiumPath]?.trim() || "/usr/lib/chromium/chromium",
    idleGraceMs: integer(env, NodeEnv.idleGraceMs, 10_000, 0, DAY_MS),
    connectDeadlineMs: integer(env, NodeEnv.connectDeadlineMs, 300_000, 1, DAY_MS),
    readyDeadlineMs: integer(env, NodeEnv.readyDeadlineMs, 60_000, 1, DAY_MS),
    heartbeatIntervalMs: integer(env, NodeEnv.heartbeatIntervalMs, 15_000, 100, DAY_MS),
  };
}
