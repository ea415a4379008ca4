/**
 * The contract between the edge and a browser node: the environment a node is started with,
 * its link and the artifact requests it makes, the claims of the tokens the edge signs, and the close codes clients see.
 *
 * Both sides import this module, so it holds no Workers or Node APIs and no libraries: plain
 * constants and types. The edge checks what nodes send with zod schemas held to these types
 * (`edge/schemas/node-messages.ts`); the node checks the little it reads by hand, which keeps its
 * bundle small and its start fast (zod alone adds ~35 ms to a node's boot).
 */

/** JWT issuer for every token the edge signs. */
export const TOKEN_ISSUER = "wallcrawler-edge";
/** Audience of the CDP token (the session's `signingKey`), checked by the edge before a client's upgrade (edge mode) or by the node's proxy (direct mode). */
export const CDP_TOKEN_AUDIENCE = "wallcrawler-cdp";
/** Audience of the node token (it arrives in the link's `welcome`), checked by the edge on the node's artifact requests and channels. */
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

/** Claims of the node token: it authenticates one node's artifact requests and channels for its own session only. */
export interface NodeTokenClaims {
  iss: typeof TOKEN_ISSUER;
  aud: typeof NODE_TOKEN_AUDIENCE;
  /** The session id (a UUID). */
  sub: string;
  iat: number;
  exp: number;
}

/** Audience of the live-view token (docs/live-view.md): opens this session's live view and nothing else, never CDP. */
export const LIVE_TOKEN_AUDIENCE = "wallcrawler-live";

/** Claims of the live-view token. `exp` is the session's `expiresAt`, or sooner (debug's `expiresIn`). */
export interface LiveTokenClaims {
  iss: typeof TOKEN_ISSUER;
  aud: typeof LIVE_TOKEN_AUDIENCE;
  /** The session id (a UUID). */
  sub: string;
  pid: string;
  /** A read-only token: whoever holds it watches and cannot give input, whatever the page's `readOnly` says. */
  ro?: boolean;
  iat: number;
  exp: number;
}

/**
 * Environment variables a node boots with (RunTask container overrides, which DescribeTasks and
 * CloudTrail show; the local ECS stand-in passes them to the child process). Every node boots
 * WITHOUT a session (docs/pool.md): these name the node, its pool and the edge, and hold the
 * bootstrap token, which opens the pool link and nothing else. The session's part (its ids,
 * expiry, settings, proxies, tokens) arrives over that link as an `Assignment`.
 */
export const NodeEnv = {
  /** Base URL of the edge, for the links, the channels and the artifact requests. */
  edgeUrl: "WC_EDGE_URL",
  /** The pool this node belongs to (the ECS region's name: one pool per region). */
  pool: "WC_POOL",
  /** This node's id in its pool (a UUID; a member reserved for a session has the session's id). */
  memberId: "WC_MEMBER_ID",
  /** The bootstrap token (POOL_LINK_TOKEN_AUDIENCE, sub = the member id): opens the pool link, nothing else. */
  bootstrapToken: "WC_BOOTSTRAP_TOKEN",
  /**
   * "1": this member was started for one session (the cold path); its assignment comes as soon
   * as its pool link opens, so it may wait for it before launching Chromium with the session's
   * settings instead of launching the defaults and relaunching.
   */
  reserved: "WC_MEMBER_RESERVED",
  /** Port of the CDP proxy (default 9223); used by sessions assigned CONNECT_MODE=direct only. */
  proxyPort: "WC_PROXY_PORT",
  /** Host the node advertises in `ready`; set locally (127.0.0.1). In AWS it is left unset and the edge resolves the task's public IP. */
  advertiseHost: "WC_ADVERTISE_HOST",
  /**
   * Where the node's WebSockets (its links and CDP channels) dial, when not WC_EDGE_URL; its HTTP
   * requests still go to WC_EDGE_URL. Set only locally, to the edge Worker's own socket in workerd,
   * past the local edge's front door (browser-node/local/edge-front.ts), which a WebSocket does not
   * need; never set by the edge or in the image.
   */
  edgeSocketUrl: "WC_EDGE_SOCKET_URL",
  /** Path of the Chromium binary (default /usr/lib/chromium/chromium). */
  chromiumPath: "WC_CHROMIUM_PATH",
  /** Milliseconds a non-keepAlive session lives after its last client leaves (default 10000). */
  idleGraceMs: "WC_IDLE_GRACE_MS",
  /** Milliseconds a session waits for its first client, from its assignment (default 300000). */
  connectDeadlineMs: "WC_CONNECT_DEADLINE_MS",
  /** Milliseconds the node may take to become warm, and again to become ready once assigned (default 60000). */
  readyDeadlineMs: "WC_READY_DEADLINE_MS",
  /** "1": the egress proxy lets pages reach loopback (the local platform, whose test pages live there). Never set in the image. */
  egressAllowLoopback: "WC_EGRESS_ALLOW_LOOPBACK",
  /** "1": the egress proxy resolves only IP literals and `localhost`, so no DNS query leaves the machine (tests). */
  egressOffline: "WC_EGRESS_OFFLINE",
} as const;

/**
 * One entry of the session's `proxies` as the node applies it: the first entry whose
 * `domainPattern` matches a request's host (no pattern: every host) decides its way out, through
 * `server` (an `http://host:port` upstream, with its credentials) or, without one, direct.
 * Browserbase's `external` entries keep their server; `browserbase` entries and `proxies: true`
 * get the operator's managed server; `none` entries have none.
 */
export interface ProxyRoute {
  domainPattern?: string;
  server?: string;
  username?: string;
  password?: string;
  /** From the operator's managed proxies (counted the same; logged as managed, never by URL). */
  managed?: boolean;
}

/** Why a node ended. The edge maps each to the session's final status. */
export const EXIT_REASONS = [
  "released", // the edge ended the session (`end` on the link: a release)
  "timed-out", // expiresAt passed
  "idle", // non-keepAlive: the last client left and the grace period passed
  "never-connected", // no client came within the connect deadline
  "browser-crashed", // Chromium exited on its own
  "not-ready", // the node could not become ready within its deadline
  "terminated", // SIGTERM or SIGINT, e.g. StopTask after REQUEST_RELEASE: the node cannot tell why
  "error", // anything else
] as const;
export type ExitReason = (typeof EXIT_REASONS)[number];

/** The `exit` a node sends on its link (`NodeToEdge`), as the edge checks it. */
export interface NodeExit {
  reason: ExitReason;
  /** Human-readable detail, at most 2000 characters; never contains a token. */
  detail?: string;
  /** Bytes through upstream proxies over the whole session, both ways (see NodeUsage). */
  proxyBytes?: number;
}

/** A WebSocket close frame's code and reason. */
export interface CloseReason {
  code: number;
  reason: string;
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

/**
 * ECS `startedBy` allows no ':'. A member reserved for a session (the cold path) is started with
 * this prefix + the session id, so its task's events go to the session; a warm pool member with
 * POOL_STARTED_BY_PREFIX + its member id, so its events go to its pool (which passes them on to
 * the session that claimed it).
 */
export const STARTED_BY_PREFIX = "wc-";
export const sessionIdFromStartedBy = (startedBy: string | undefined) =>
  startedBy?.startsWith(STARTED_BY_PREFIX) ? startedBy.slice(STARTED_BY_PREFIX.length) : undefined;
export const POOL_STARTED_BY_PREFIX = "wp-";
export const memberIdFromStartedBy = (startedBy: string | undefined) =>
  startedBy?.startsWith(POOL_STARTED_BY_PREFIX) ? startedBy.slice(POOL_STARTED_BY_PREFIX.length) : undefined;

// ---------------------------------------------------------------------------------------------
// Session artifacts (extensions, contexts, downloads, uploads, logs, recording).
// Blobs live in R2 behind the edge; nodes hold no cloud credentials and move them through these
// routes with their node token (`Authorization: Bearer <node token>`, from the link's `welcome`).

/**
 * Artifact routes on the edge, relative to `WC_EDGE_URL`:
 * - `GET  extension`: the zip of the session's extension (`browserSettings.extensionId`); 404 without one.
 * - `GET  context`:   the saved profile of `browserSettings.context.id` (a tar.gz of the user-data dir); 404 when none saved yet.
 * - `PUT  context`:   the profile at the session's end; accepted only when `context.persist` is true (else 409).
 * - `PUT  downloads`: a zip of every file the browser downloaded so far (replaces the previous one).
 * - `POST logs`:      `LogBatch`, appended.
 * - `POST recording`: `RecordingBatch`, appended.
 * - `POST usage`:     `NodeUsage`, the session's running totals (the edge keeps the largest it saw).
 */
export type ArtifactKind = "extension" | "context" | "downloads" | "logs" | "recording" | "usage";
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

/**
 * `POST usage`: what the session used so far, sent every ARTIFACT_FLUSH_INTERVAL_MS while it
 * changes (and in `exit`), so a running session's `proxyBytes` grows. Totals, not increments: a
 * report lost or repeated changes nothing.
 */
export interface NodeUsage {
  /** Bytes through upstream proxies (`proxies`), both ways, counted at the node's socket to the proxy. */
  proxyBytes: number;
}

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
 * The node's reply to an `upload` call: where the staged file now is on the node's disk, the path
 * a page's file input takes (`DOM.setFileInputFiles`).
 */
export interface NodeUploadReply {
  path: string;
}

// ---------------------------------------------------------------------------------------------
// The node link (docs/node-link.md): nodes dial the edge; the edge never dials a node.
//
// Each node holds ONE WebSocket to its session's Durable Object (JSON text frames, both ways).
// For every CDP client the node opens one more WebSocket, a channel, which the Durable Object
// pairs with the client's socket and relays message for message. Bulk artifacts stay HTTP
// requests from the node (the routes above).

/** Audience of the session link token: it arrives in the node's `Assignment` and opens the session link and nothing else. */
export const LINK_TOKEN_AUDIENCE = "wallcrawler-node-link";

/**
 * `GET <edge>/internal/nodes/<session>/link`, a WebSocket upgrade with
 * `Authorization: Bearer <link token>` (aud LINK_TOKEN_AUDIENCE, sub = the session).
 * A second link for the same session replaces the first (closed with 4009).
 */
export const nodeLinkPath = (sessionId: string) => `/internal/nodes/${sessionId}/link`;

/**
 * `GET <edge>/internal/nodes/<session>/cdp/<channel>`, a WebSocket upgrade with
 * `Authorization: Bearer <node token>`: the data path of one CDP client, opened by the node when
 * the link asks (`open`). Messages pass unchanged both ways (text stays text, binary stays binary).
 */
export const nodeChannelPath = (sessionId: string, channel: string) => `/internal/nodes/${sessionId}/cdp/${channel}`;

/** How clients reach CDP: through the edge (default, TLS when deployed) or straight to the node's proxy. */
export const CONNECT_MODES = ["edge", "direct"] as const;
export type ConnectMode = (typeof CONNECT_MODES)[number];

/**
 * Client-facing CDP paths on the edge (connectUrl = `ws(s)://<edge>/cdp/<session>?signingKey=<JWT>`):
 * - WebSocket `/cdp/<session>`, `/cdp/<session>/devtools/browser[/<id>]`: the browser endpoint;
 *   `/cdp/<session>/devtools/page/<targetId>`: a page.
 * - HTTP `/cdp/<session>/json/version|list|protocol` (trailing slash or not, `/json` = list):
 *   Chromium's answers with every URL pointing back here and carrying the caller's token.
 * - HTTP `/cdp/<session>/devtools/<file>`: the DevTools frontend's files (public, like Chromium's).
 */
export const cdpPathPrefix = (sessionId: string) => `/cdp/${sessionId}`;

/**
 * The two URL forms every CDP address takes, at the edge (connectUrl, debug URLs, `/json/*`) and
 * at the node's proxy alike. `base` is `host[:port][/cdp/<session>]`, `path` is "" (the browser)
 * or a Chromium path such as `/devtools/page/<targetId>`; the CDP token rides in `signingKey`.
 *
 *   socket:    ws(s)://<base><path>?signingKey=<T>
 *   DevTools:  http(s)://<base>/devtools/inspector.html?ws(s)=<base><path>%3FsigningKey%3D<T>
 * The DevTools frontend URL-decodes `ws`/`wss` and opens that, query included, so its page
 * socket arrives with its token.
 */
export const cdpSocketUrl = (scheme: "ws" | "wss", base: string, path: string, token?: string) =>
  `${scheme}://${base}${path}${token === undefined ? "" : `?signingKey=${encodeURIComponent(token)}`}`;

export const devtoolsFrontendUrl = (scheme: "ws" | "wss", base: string, path: string, token?: string) =>
  `${scheme === "wss" ? "https" : "http"}://${base}/devtools/inspector.html?${scheme}=${base}${path}` +
  (token === undefined ? "" : `%3FsigningKey%3D${encodeURIComponent(token)}`);

/**
 * The live view (docs/live-view.md): a page the edge serves at `livePagePath` (`?token=<live
 * token>`), whose socket carries screencast frames out and input in, never CDP. In edge mode the
 * socket is `liveSocketPath` on the edge, relayed to a channel the node opens on `open` with
 * `path: LIVE_CHANNEL_PATH` and attaches to its screencast hub; in direct mode it is
 * LIVE_CHANNEL_PATH on the node's proxy (`?token=`).
 */
export const LIVE_CHANNEL_PATH = "/live";
export const livePagePath = (sessionId: string) => `/live/${sessionId}`;
export const liveSocketPath = (sessionId: string) => `/live/${sessionId}/socket`;

/** Edge → node, on the link. */
export type EdgeToNode =
  /** First message on every (re)opened link: the credential for the node's artifact requests. */
  | { t: "welcome"; nodeToken: string }
  /** The session is over at the edge (release, timeout): end it with this reason. */
  | { t: "end"; reason: ExitReason; detail?: string }
  | { t: "call"; id: number; call: NodeCall };

/** What the edge asks of a node; each is answered by one `reply` with the same id. */
export type NodeCall =
  /** Chromium's `/json/version`, `/json/list` or `/json/protocol` answer, parsed (value: the JSON). */
  | { op: "json"; path: "/json/version" | "/json/list" | "/json/protocol" }
  /**
   * Open a channel for a client: connect to Chromium at `path` (`/devtools/browser/<id>` or
   * `/devtools/page/<targetId>`; `/devtools/browser` alone means the browser's own), then dial
   * `nodeChannelPath(session, channel)`. Reply ok once the channel is open (value: null), or an
   * error (404: no such target; 503: the session is ending). `expiresAt` (epoch ms) is the
   * client token's expiry: the node closes the channel with CloseCode.tokenExpired then.
   */
  | {
      op: "open";
      channel: string;
      path: string;
      expiresAt: number;
      /** Only with `path` LIVE_CHANNEL_PATH: the viewer may not give input (the node drops it). */
      readOnly?: boolean;
      /** Only with `path` LIVE_CHANNEL_PATH: the page (target id) the viewer watches first. */
      page?: string;
    }
  /** Fetch the upload the edge staged (`GET nodeStagedUploadPath`) into the uploads folder (value: NodeUploadReply). */
  | { op: "upload"; name: string }
  /** Ship the downloads zip now (value: null once the edge accepted it; also when nothing changed). */
  | { op: "flush-downloads" }
  /** A DevTools frontend file (`/devtools/...`) from Chromium (value: FrontendFile). */
  | { op: "frontend"; path: string };

export interface FrontendFile {
  status: number;
  contentType?: string;
  /** The body, base64. */
  body: string;
}

/** Node → edge, on the link. */
export type NodeToEdge =
  /** Sent once, after a CDP round trip to Chromium worked. `direct` only in CONNECT_MODE=direct. */
  | { t: "ready"; browserVersion: string; direct?: { host?: string; port: number } }
  /** The node is ending (after its artifacts were shipped). The link then closes with 1000. */
  | ({ t: "exit" } & NodeExit)
  | { t: "reply"; id: number; ok: true; value: unknown }
  | { t: "reply"; id: number; ok: false; status: number; message: string };

/** `GET <edge>/internal/nodes/<session>/uploads/<name>` (node token): an upload the edge staged for the node. */
export const nodeStagedUploadPath = (sessionId: string, fileName: string) =>
  `/internal/nodes/${sessionId}/uploads/${encodeURIComponent(fileName)}`;

/** Close codes on the link itself. */
export const LinkClose = {
  /** A newer link for the same session took over. */
  replaced: { code: 4009, reason: "link replaced" },
  /** The session is over; the node should exit. */
  sessionOver: { code: 4010, reason: "session over" },
} as const;

/** A node whose link dropped has this long to reopen it before the edge settles the session. */
export const LINK_RECONNECT_GRACE_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// The warm pool (docs/pool.md): every node boots without a session, launches Chromium with the
// default settings and a fresh profile, lets it settle, and opens its POOL LINK to its pool's
// Durable Object, where it waits for one assignment. Assigned, it opens its session link (above)
// with the assignment's link token and serves that one session, then exits: single use.

/** Audience of the bootstrap token (`WC_BOOTSTRAP_TOKEN`): it opens the member's pool link and nothing else. */
export const POOL_LINK_TOKEN_AUDIENCE = "wallcrawler-pool-link";

/** Claims of the bootstrap token. */
export interface PoolLinkTokenClaims {
  iss: typeof TOKEN_ISSUER;
  aud: typeof POOL_LINK_TOKEN_AUDIENCE;
  /** The member id (a UUID). */
  sub: string;
  /** The pool's name (the region). */
  pool: string;
  iat: number;
  exp: number;
}

/** A pool's name: its ECS region's (the edge routes nothing else; the node refuses any other WC_POOL). */
export const POOL_NAME = /^[a-z0-9-]{1,64}$/;

/**
 * `GET <edge>/internal/pools/<pool>/members/<member>/link`, a WebSocket upgrade with
 * `Authorization: Bearer <bootstrap token>` (aud POOL_LINK_TOKEN_AUDIENCE, sub = the member,
 * pool = the pool). JSON text frames both ways, like the session link.
 */
export const poolLinkPath = (pool: string, memberId: string) => `/internal/pools/${encodeURIComponent(pool)}/members/${memberId}/link`;

/** The session's part of a node's configuration, sent once over the pool link. */
export interface Assignment {
  /** The session this node now serves (a UUID); its session link is `nodeLinkPath(sessionId)`. */
  sessionId: string;
  projectId: string;
  /** Epoch ms: the node ends the session itself at this instant (`timed-out`). */
  expiresAt: number;
  keepAlive: boolean;
  /** How the session's clients reach CDP; direct: the node's proxy listens on WC_PROXY_PORT and `ready` names it. */
  connectMode: ConnectMode;
  /** The session's `browserSettings` (the edge folded a top-level extensionId in), as `normalizeBrowserSettings` takes them. */
  browserSettings: Record<string, unknown>;
  /** The session's upstream proxies, in order, managed ones resolved by the edge; `[]`: every request goes direct. */
  proxies: ProxyRoute[];
  /** The session's link token (LINK_TOKEN_AUDIENCE, sub = the session): opens the session link, whose `welcome` brings the node token. */
  linkToken: string;
  /** The edge's public keys `{keys: [...]}`: direct mode's proxy checks clients' CDP tokens with them. */
  jwks: { keys: Record<string, unknown>[] };
}

/** Pool → node, on the pool link. */
export type PoolToNode =
  /** Sent once: serve this session. Sent to a warm member when a create claims it, to a reserved one as soon as its link opens. */
  { t: "assign"; assignment: Assignment };

/** Node → pool, on the pool link. */
export type NodeToPool =
  /** Sent once, when Chromium has settled (a CDP round trip worked and the first page is loaded): the member may be claimed. */
  | { t: "warm"; browserVersion: string }
  /**
   * The session's `ready` (as on the session link), sent here too while the pool link is still
   * the node's only open link: the pool hands it to the session, so the create need not wait for
   * the session link's dial. The node sends it on its session link as well once that is open.
   */
  | Extract<NodeToEdge, { t: "ready" }>;

/** Close codes on the pool link. */
export const PoolLinkClose = {
  /** The node closes its pool link with this once its session link is open (its `welcome` came): the session holds the node now. */
  assigned: { code: 1000, reason: "assigned" },
  /** A newer pool link for the same member took over. */
  replaced: { code: 4009, reason: "link replaced" },
  /** The pool does not want this member (unknown or forgotten member, idle too long, pool shrunk): the node exits with 0. */
  retired: { code: 4011, reason: "retired" },
} as const;
