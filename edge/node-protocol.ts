/**
 * The contract between the edge and a browser node: the environment a node is started with,
 * the callbacks it posts, the claims of the tokens the edge signs, and the close codes clients see.
 *
 * Both sides import this module, so it holds no Workers or Node APIs and no libraries: plain
 * constants and types. The edge checks what nodes send with zod schemas held to these types
 * (`edge/schemas/node-messages.ts`); the node checks the little it reads by hand, which keeps its
 * bundle small and its start fast (zod alone adds ~35 ms to a node's boot).
 */

/** JWT issuer for every token the edge signs. */
export const TOKEN_ISSUER = "wallcrawler-edge";
/** Audience of the CDP token (the session's `signingKey`), checked by the node's proxy. */
export const CDP_TOKEN_AUDIENCE = "wallcrawler-cdp";
/** Audience of the node token, checked by the edge on `/internal/nodes/...` callbacks. */
export const NODE_TOKEN_AUDIENCE = "wallcrawler-node";
/** The only algorithm either side accepts; pinned so `alg: none` and HS256 confusion fail. */
export const TOKEN_ALGORITHM = "ES256";

/** Claims of the CDP token. `sub` is the session id, `exp` the session's `expiresAt`. */
export interface CdpTokenClaims {
  iss: typeof TOKEN_ISSUER;
  aud: typeof CDP_TOKEN_AUDIENCE;
  /** The session id (a UUID). */
  sub: string;
  /** The owning project, so a node can log it without trusting anything else. */
  pid: string;
  /** Whole seconds, as every JWT time. */
  iat: number;
  exp: number;
}

/** Claims of the node token: it authenticates one node's callbacks for its own session only. */
export interface NodeTokenClaims {
  iss: typeof TOKEN_ISSUER;
  aud: typeof NODE_TOKEN_AUDIENCE;
  /** The session id (a UUID). */
  sub: string;
  iat: number;
  exp: number;
}

/**
 * Environment variables the edge sets on a node (RunTask container overrides; the local ECS
 * stand-in passes them to the child process). The node reads its configuration only from these.
 */
export const NodeEnv = {
  /** The session this node serves; the proxy accepts only tokens whose `sub` equals it. */
  sessionId: "WC_SESSION_ID",
  projectId: "WC_PROJECT_ID",
  /** Base URL of the edge, for callbacks (`/internal/nodes/<session>/...`). */
  edgeUrl: "WC_EDGE_URL",
  /** Bearer token for the callbacks. */
  nodeToken: "WC_NODE_TOKEN",
  /** JSON `{"keys": [...]}`: the edge's public keys; when absent the node fetches `<edge>/.well-known/jwks.json`. */
  jwks: "WC_JWKS",
  /** ISO-8601; the node ends the session itself at this instant. */
  expiresAt: "WC_EXPIRES_AT",
  /** "true" | "false" */
  keepAlive: "WC_KEEP_ALIVE",
  /** JSON of the session's `browserSettings` (viewport, extension, context, ...). */
  browserSettings: "WC_BROWSER_SETTINGS",
  /** Port of the CDP proxy (default 9223). */
  proxyPort: "WC_PROXY_PORT",
  /** Host the node advertises in `ready`; set locally (127.0.0.1). In AWS it is left unset and the edge resolves the task's public IP. */
  advertiseHost: "WC_ADVERTISE_HOST",
  /** Path of the Chromium binary (default /usr/lib/chromium/chromium). */
  chromiumPath: "WC_CHROMIUM_PATH",
  /** Milliseconds a non-keepAlive session lives after its last client leaves (default 10000). */
  idleGraceMs: "WC_IDLE_GRACE_MS",
  /** Milliseconds a session waits for its first client (default 300000). */
  connectDeadlineMs: "WC_CONNECT_DEADLINE_MS",
  /** Milliseconds the node may take to become ready (default 60000). */
  readyDeadlineMs: "WC_READY_DEADLINE_MS",
  /** Milliseconds between heartbeats (default 15000). */
  heartbeatIntervalMs: "WC_HEARTBEAT_INTERVAL_MS",
} as const;

/** Callback paths on the edge, relative to `WC_EDGE_URL`. All take `Authorization: Bearer <node token>`. */
export const nodeCallbackPath = (sessionId: string, kind: "ready" | "heartbeat" | "exit") =>
  `/internal/nodes/${sessionId}/${kind}`;

/** `POST /internal/nodes/<session>/ready`: sent only after a CDP round trip through the proxy worked. */
export interface NodeReady {
  /** The node's reachable host, when it knows it (locally); otherwise the edge looks it up in ECS/EC2. */
  host?: string;
  /** 1–65535. */
  port: number;
  /** e.g. "Chrome/156.0.8078.73", from `/json/version`'s `Browser`. */
  browserVersion: string;
}

/** `POST /internal/nodes/<session>/heartbeat`: the call itself is the sign of life; its body is `{}`. */
export type NodeHeartbeat = Record<string, never>;

/** Answer to a heartbeat: when the edge already considers the session over, the node ends it. */
export interface HeartbeatReply {
  end: boolean;
}

/** Why a node ended. The edge maps each to the session's final status. */
export const EXIT_REASONS = [
  "released", // a heartbeat's reply said the edge considers the session over
  "timed-out", // expiresAt passed
  "idle", // non-keepAlive: the last client left and the grace period passed
  "never-connected", // no client came within the connect deadline
  "browser-crashed", // Chromium exited on its own
  "not-ready", // the node could not become ready within its deadline
  "terminated", // SIGTERM or SIGINT, e.g. StopTask after REQUEST_RELEASE: the node cannot tell why
  "error", // anything else
] as const;
export type ExitReason = (typeof EXIT_REASONS)[number];

/** `POST /internal/nodes/<session>/exit`. */
export interface NodeExit {
  reason: ExitReason;
  /** Human-readable detail, at most 2000 characters; never contains a token. */
  detail?: string;
}

/** WebSocket close codes a CDP client sees when the session ends. */
export const CloseCode = {
  released: { code: 1001, reason: "session released" },
  browserCrashed: { code: 1011, reason: "browser crashed" },
  timedOut: { code: 4001, reason: "session timed out" },
  tokenExpired: { code: 4002, reason: "signing key expired" },
  idle: { code: 4003, reason: "session ended" },
  nodeError: { code: 1011, reason: "browser node error" },
} as const;

/** Header EventBridge's API destination sets on "ECS Task State Change" posts to `/internal/ecs/task-events`. */
export const TASK_EVENTS_SECRET_HEADER = "x-wc-events-secret";
export const TASK_EVENTS_PATH = "/internal/ecs/task-events";

/** The subset of an EventBridge "ECS Task State Change" event the edge reads. */
export interface EcsTaskStateChange {
  "detail-type": "ECS Task State Change";
  source: "aws.ecs";
  detail: {
    taskArn: string;
    clusterArn?: string;
    lastStatus: string;
    desiredStatus?: string;
    startedBy?: string;
    stopCode?: string;
    stoppedReason?: string;
    containers?: { name?: string; exitCode?: number; reason?: string }[];
  };
}

/** ECS `startedBy` allows no ':'; the edge sets it to this prefix + the session id. */
export const STARTED_BY_PREFIX = "wc-";
export const sessionIdFromStartedBy = (startedBy: string | undefined) =>
  startedBy?.startsWith(STARTED_BY_PREFIX) ? startedBy.slice(STARTED_BY_PREFIX.length) : undefined;

// ---------------------------------------------------------------------------------------------
// Session artifacts (extensions, contexts, downloads, uploads, logs, recording).
// Blobs live in R2 behind the edge; nodes hold no cloud credentials and move them through these
// routes with their node token (`Authorization: Bearer <WC_NODE_TOKEN>`).

/**
 * Artifact routes on the edge, relative to `WC_EDGE_URL`:
 * - `GET  extension`: the zip of the session's extension (`browserSettings.extensionId`); 404 without one.
 * - `GET  context`:   the saved profile of `browserSettings.context.id` (a tar.gz of the user-data dir); 404 when none saved yet.
 * - `PUT  context`:   the profile at the session's end; accepted only when `context.persist` is true (else 409).
 * - `PUT  downloads`: a zip of every file the browser downloaded so far (replaces the previous one).
 * - `POST logs`:      `LogBatch`, appended.
 * - `POST recording`: `RecordingBatch`, appended.
 */
export type ArtifactKind = "extension" | "context" | "downloads" | "logs" | "recording";
export const nodeArtifactPath = (sessionId: string, kind: ArtifactKind) => `/internal/nodes/${sessionId}/${kind}`;

/** Bounds both sides enforce; over a bound the edge answers 413 (or 400) with a message. */
export const ArtifactLimits = {
  extensionBytes: 100 * 1024 * 1024,
  contextBytes: 100 * 1024 * 1024,
  downloadsBytes: 100 * 1024 * 1024,
  uploadBytes: 50 * 1024 * 1024,
  /** SessionLog entries kept per session; older ones are dropped first. */
  logEntries: 10_000,
  /** A request/response body longer than this is truncated (and marked so) before it is shipped. */
  logBodyChars: 8_192,
  recordingEvents: 50_000,
  recordingBytes: 50 * 1024 * 1024,
  /** Entries or events in one batch. */
  batchItems: 1_000,
  /** Bytes of SessionLog entries kept per session (their JSON); older ones are dropped first, as for `logEntries`. */
  logBytes: 16 * 1024 * 1024,
  /** One SessionLog entry's JSON; a batch holding a larger one is refused whole (413). */
  logEntryBytes: 64 * 1024,
  /** The body of one `POST logs` or `POST recording` (a LogBatch or RecordingBatch as JSON). */
  batchBytes: 8 * 1024 * 1024,
} as const;

/**
 * The edge accepts a node's artifact writes (context, downloads, logs, recording) until this long
 * after the session ended, so what the node flushes at its exit still lands; later writes get 409.
 */
export const ARTIFACT_LATE_WRITE_GRACE_MS = 5 * 60_000;

/** How often a node ships what it holds (logs, recording, downloads): a crash loses at most this much. */
export const ARTIFACT_FLUSH_INTERVAL_MS = 5_000;

/** One CDP exchange as Browserbase's SessionLog shows it. Absent fields are left out, never null. */
export interface SessionLogEntry {
  method: string;
  /** A whole number. */
  pageId: number;
  sessionId: string;
  frameId?: string;
  loaderId?: string;
  request?: { params: Record<string, unknown>; rawBody: string; timestamp?: number };
  response?: { result: Record<string, unknown>; rawBody: string; timestamp?: number };
  timestamp?: number;
}
/** At most `ArtifactLimits.batchItems` entries. */
export interface LogBatch {
  entries: SessionLogEntry[];
}

/** An rrweb-style event (`type`: 2 full snapshot, 3 incremental, 4 meta, ...), tagged with its page. */
export interface RecordingEvent {
  type: number;
  timestamp: number;
  data: unknown;
  pageId?: string;
}
/** At most `ArtifactLimits.batchItems` events. */
export interface RecordingBatch {
  events: RecordingEvent[];
}

/**
 * Uploads go the other way: the edge puts the file on the node (`PUT <node>/uploads/<file name>`,
 * authenticated with a CDP token of the session, like any client of the proxy). The node keeps it
 * in its uploads folder, where a page's `<input type=file>` can take it.
 */
export const nodeUploadPath = (fileName: string) => `/uploads/${encodeURIComponent(fileName)}`;

/**
 * The node's answer to `PUT /uploads/<file name>`: 201 (or 200) with where the file now is on the
 * node's disk, the path a page's file input takes (`DOM.setFileInputFiles`). The edge sends the
 * body with `Transfer-Encoding: chunked` and may cut it off (client gone, over `uploadBytes`): the
 * node keeps a file only once its body arrived whole. 401 for a bad token, 413 over the bound.
 */
export interface NodeUploadReply {
  path: string;
}

/**
 * `POST <node>/downloads/flush` (CDP token as `Authorization: Bearer`, empty body): the node PUTs
 * its downloads zip to the edge now and answers 204 once the edge accepted it (also 204 when
 * nothing changed since its last PUT). The edge asks this before it answers a client's
 * `GET /v1/sessions/{id}/downloads` for a running session, and serves the last zip it holds when
 * the node does not answer in time.
 */
export const NODE_DOWNLOADS_FLUSH_PATH = "/downloads/flush";
