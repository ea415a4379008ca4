import type { ConnectMode } from "../node-protocol.ts";
import { cdpEndpoint, webSocketUrl } from "./connect-urls.ts";

/**
 * A session as its SessionObject keeps it, and the Browserbase shape clients see. Timestamps are
 * epoch milliseconds inside, ISO-8601 outside; absent optional fields stay absent (never null).
 */
/**
 * A JSON value (user metadata, browser settings). Nested arrays and objects are just `object`:
 * a recursive type is too deep for the Durable Object RPC stub types.
 */
export type Json = string | number | boolean | null | object;

export const REGIONS = ["us-west-2", "us-east-1", "eu-central-1", "ap-southeast-1"] as const;
export type Region = (typeof REGIONS)[number];

export const SESSION_STATUSES = ["PENDING", "RUNNING", "ERROR", "TIMED_OUT", "COMPLETED"] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];
export type FinalStatus = Exclude<SessionStatus, "PENDING" | "RUNNING">;

/** Session ids are lowercase UUIDs (crypto.randomUUID), which is also how their objects are named. */
export const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isFinal = (status: SessionStatus): status is FinalStatus => status !== "PENDING" && status !== "RUNNING";

/** What the node reported ready with; `host`/`port` (its proxy) only in CONNECT_MODE=direct. */
export interface NodeAddress {
  browserVersion: string;
  host?: string;
  port?: number;
}

/** What a session's artifacts depend on, from its create's `browserSettings`. */
export interface SessionArtifactSettings {
  extensionId?: string;
  context?: { id: string; persist: boolean };
  /** `browserSettings.logSession` (default true). */
  logSession: boolean;
  /** `browserSettings.recordSession` (default true). */
  recordSession: boolean;
}

export interface SessionRecord {
  id: string;
  projectId: string;
  status: SessionStatus;
  /** Bumped on every change, so the project's index applies updates in order. */
  version: number;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  endedAt?: number;
  keepAlive: boolean;
  region: Region;
  userMetadata?: Record<string, Json>;
  contextId?: string;
  /** `browserSettings` as the create sent them (a few are not acted on yet: README "Not built yet"). */
  browserSettings?: Record<string, Json>;
  /** `proxies` as the create sent them, credentials included (the node got them resolved: proxy-routes.ts). */
  proxies?: Json;
  /** Bytes through upstream proxies, as the node last reported them (usage, exit). */
  proxyBytes?: number;
  artifacts: SessionArtifactSettings;
  /** PENDING past this instant ends in ERROR. */
  startDeadline: number;
  taskArn?: string;
  /** The pool its node came from (the region), and the member serving it (its id is the session's for a reserved member). */
  pool?: string;
  memberId?: string;
  /** How this session's clients reach CDP, fixed at its create (absent in older records: direct). */
  connectMode?: ConnectMode;
  /** The edge's public base URL at the create (the node's WC_EDGE_URL, and connectUrl's in edge mode). */
  edgeUrl?: string;
  node?: NodeAddress;
  /** The CDP token, issued when the node is ready; valid until expiresAt. */
  signingKey?: string;
  /** The node's link dropped at this instant while its task still ran; cleared when it reopens. */
  linkLostAt?: number;
  /** Why the session ended, for logs and for the create's error message. */
  endReason?: string;
  /** The edge still owes ECS a StopTask for this session's task. */
  stopOwed?: boolean;
  stopAttempts?: number;
  /** The version the ProjectObject's index last acknowledged. */
  indexedVersion?: number;
}

/** The Session object of the Browserbase API. */
export interface ApiSession {
  id: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string;
  expiresAt: string;
  endedAt?: string;
  projectId: string;
  keepAlive: boolean;
  proxyBytes: number;
  region: Region;
  status: SessionStatus;
  contextId?: string;
  userMetadata?: Record<string, Json>;
}

/** What the create sent that the Session shape has no field for; create and retrieve answer it. */
export interface SentSettings {
  browserSettings?: Record<string, Json>;
  /** With every password masked. */
  proxies?: Json;
}

export interface ApiSessionWithConnect extends ApiSession, SentSettings {
  connectUrl: string;
  seleniumRemoteUrl: string;
  signingKey: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function toApiSession(r: SessionRecord): ApiSession {
  const s: ApiSession = {
    id: r.id,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    startedAt: iso(r.createdAt),
    expiresAt: iso(r.expiresAt),
    projectId: r.projectId,
    keepAlive: r.keepAlive,
    proxyBytes: r.proxyBytes ?? 0,
    region: r.region,
    status: r.status,
  };
  if (r.endedAt !== undefined) s.endedAt = iso(r.endedAt);
  if (r.contextId !== undefined) s.contextId = r.contextId;
  if (r.userMetadata !== undefined) s.userMetadata = r.userMetadata;
  return s;
}

/**
 * The session as create and retrieve answer it: with the settings it was created with, and its
 * connection fields while it runs.
 */
export function toLiveApiSession(r: SessionRecord, directScheme: "ws" | "wss"): (ApiSession & SentSettings) | ApiSessionWithConnect {
  const s: ApiSession & SentSettings = toApiSession(r);
  if (r.browserSettings !== undefined) s.browserSettings = r.browserSettings;
  if (r.proxies !== undefined) s.proxies = maskProxies(r.proxies);
  const endpoint = r.status === "RUNNING" && r.signingKey ? cdpEndpoint(r, directScheme) : undefined;
  if (!endpoint || !r.signingKey) return s;
  return {
    ...s,
    connectUrl: webSocketUrl(endpoint, "", r.signingKey),
    // Selenium is not served yet; the URL names where it will be.
    seleniumRemoteUrl: `${endpoint.http}/webdriver`,
    signingKey: r.signingKey,
  };
}

const MASK = "[redacted]";

/** `proxies` without their secrets: each `password`, and the password in a server URL's userinfo. */
function maskProxies(proxies: Json): Json {
  if (!Array.isArray(proxies)) return proxies;
  return proxies.map((p: Json) => {
    if (p === null || typeof p !== "object" || Array.isArray(p)) return p;
    const masked: Record<string, Json> = { ...(p as Record<string, Json>) };
    if (masked.password !== undefined) masked.password = MASK;
    if (typeof masked.server === "string") masked.server = masked.server.replace(/^([^:/?#]+:\/\/[^:/?#@]*):[^/?#]*@/, `$1:${MASK}@`);
    return masked;
  });
}

/** What a session is created from: its create request, and the terms its project admitted it on. */
export interface SessionCreate extends Admission {
  id: string;
  createdAt: number;
  keepAlive: boolean;
  region: Region;
  userMetadata?: Record<string, Json>;
  artifacts: SessionArtifactSettings;
  /** Kept as sent, including what is not acted on yet. */
  browserSettings?: Record<string, Json>;
  proxies?: Json;
}

/** The terms a project admits a session on (ProjectObject.admit). */
export interface Admission {
  projectId: string;
  expiresAt: number;
  /** PENDING past this instant ends in ERROR. */
  startDeadline: number;
}

/** A new session's record, PENDING. */
export function newSessionRecord(init: SessionCreate): SessionRecord {
  const { userMetadata, browserSettings, proxies, ...rest } = init;
  const record: SessionRecord = { ...rest, status: "PENDING", version: 1, updatedAt: init.createdAt };
  if (userMetadata !== undefined) record.userMetadata = userMetadata;
  if (browserSettings !== undefined) record.browserSettings = browserSettings;
  if (proxies !== undefined) record.proxies = proxies;
  if (init.artifacts.context) record.contextId = init.artifacts.context.id;
  return record;
}

/** What a project's index keeps of each of its sessions. */
export interface IndexEntry {
  id: string;
  status: SessionStatus;
  version: number;
  createdAt: number;
  endedAt?: number;
  view: ApiSession;
}

export const indexEntry = (r: SessionRecord): IndexEntry => ({
  id: r.id,
  status: r.status,
  version: r.version,
  createdAt: r.createdAt,
  endedAt: r.endedAt,
  view: toApiSession(r),
});
