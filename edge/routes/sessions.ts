/** `/v1/sessions`: create, list, retrieve, update (REQUEST_RELEASE) and debug, for the key's project only. */
import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import { secret, type AppEnv } from "../env.ts";
import { ApiError, unwrap, validationHook } from "../errors.ts";
import { readConfig } from "../config.ts";
import { signCdpToken, signingKey, signLiveToken } from "../tokens.ts";
import { error, errors, json, jsonBody } from "../schemas/common.ts";
import {
  DebugQuery,
  Session,
  SessionCreateBody,
  SessionCreateResponse,
  SessionIdParam,
  SessionListQuery,
  SessionLiveUrls,
  SessionRetrieveResponse,
  SessionUpdateBody,
} from "../schemas/session.ts";
import { poolSettings } from "../pool/pool-settings.ts";
import { proxyRoutes } from "../sessions/proxy-routes.ts";
import { parseMetadataQuery } from "../sessions/metadata-query.ts";
import { jsonBytes, MAX_BROWSER_SETTINGS_BYTES, MAX_LISTED_SESSIONS } from "../sessions/input-bounds.ts";
import { REGIONS, type Json, type Region, type SessionArtifactSettings, type SessionRecord } from "../sessions/session-record.ts";
import { edgeOrigin, sameProject, sessionStub } from "./scope.ts";
import { liveUrls, targetsOf } from "../sessions/debug-urls.ts";
import { directEndpoint, edgeEndpoint } from "../sessions/connect-urls.ts";
import { liveViewUrl } from "../live/live-urls.ts";

/** The node lists its browser's targets within this, or the debug answer is a 502. */
const DEBUG_TARGETS_TIMEOUT_MS = 5_000;

export const sessions = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

const tags = ["sessions"];

sessions.openapi(
  createRoute({
    method: "post",
    path: "/v1/sessions",
    tags,
    request: { body: jsonBody(SessionCreateBody) },
    responses: {
      201: json(SessionCreateResponse, "The session, running"),
      ...errors,
      403: error("projectId names another project"),
      429: error("Over the project's concurrency limit"),
      502: error("ECS or the node failed; x-should-retry says whether a new create may help"),
      504: error("The browser did not become ready in time (x-should-retry: false)"),
    },
  }),
  async (c) => {
    const projectId = c.get("projectId");
    const body = c.req.valid("json");
    sameProject(body.projectId, projectId);
    // Parsed from JSON, so JSON all the way down, unknown keys included.
    const browserSettings = { ...body.browserSettings } as Record<string, Json>;
    if (body.extensionId && browserSettings.extensionId === undefined) browserSettings.extensionId = body.extensionId;
    // Managed proxies resolved here: a location nobody configured is a 400 before any node starts.
    const proxies = proxyRoutes(body.proxies, secret(c.env, "MANAGED_PROXIES"));
    if (jsonBytes(browserSettings) > MAX_BROWSER_SETTINGS_BYTES) throw new ApiError(400, `browserSettings: larger than ${MAX_BROWSER_SETTINGS_BYTES} bytes as JSON`);
    const config = readConfig(c.env);
    const id = crypto.randomUUID();
    const request = {
      id,
      createdAt: Date.now(),
      keepAlive: body.keepAlive ?? false,
      // One configured region serves all four names until there is more than one.
      region: body.region ?? ((REGIONS as readonly string[]).includes(config.ecs.region) ? (config.ecs.region as Region) : "us-east-1"),
      userMetadata: body.userMetadata,
      artifacts: artifactSettings(body),
    };
    const admission = unwrap(await c.env.PROJECTS.getByName(projectId).admit({ ...request, timeoutSeconds: body.timeout }));
    const session = c.env.SESSIONS.getByName(id);
    // The SDK gives up after 60 s and retries with a new create: the browser this one started
    // must not outlive the request that nobody is waiting for any more.
    const signal = c.req.raw.signal;
    const abandon = () => c.executionCtx.waitUntil(session.abandon());
    signal.addEventListener("abort", abandon, { once: true });
    try {
      const edgeUrl = edgeOrigin(config.edgePublicUrl, c.req.url);
      const launch = { browserSettings, proxies, edgeUrl, connectMode: config.connectMode, pool: poolSettings(config, edgeUrl) };
      // Kept as sent, including what is not acted on yet; the project's index has no use for them.
      const created = unwrap(await session.start({ ...request, ...admission, ...sentSettings(body) }, launch));
      return c.json(created, 201);
    } finally {
      signal.removeEventListener("abort", abandon);
    }
  },
);

function sentSettings(body: z.infer<typeof SessionCreateBody>): Pick<SessionRecord, "browserSettings" | "proxies"> {
  const sent: Pick<SessionRecord, "browserSettings" | "proxies"> = {};
  if (body.browserSettings !== undefined) sent.browserSettings = body.browserSettings as Record<string, Json>;
  if (body.proxies !== undefined) sent.proxies = body.proxies;
  return sent;
}

/** What the session's artifacts depend on (references are checked when the project admits it). */
function artifactSettings(body: z.infer<typeof SessionCreateBody>): SessionArtifactSettings {
  const settings = body.browserSettings;
  const a: SessionArtifactSettings = { logSession: settings?.logSession !== false, recordSession: settings?.recordSession !== false };
  const extensionId = settings?.extensionId ?? body.extensionId;
  if (extensionId) a.extensionId = extensionId;
  if (settings?.context) a.context = { id: settings.context.id, persist: settings.context.persist === true };
  return a;
}

sessions.openapi(
  createRoute({
    method: "get",
    path: "/v1/sessions",
    tags,
    request: { query: SessionListQuery },
    responses: { 200: json(Session.array(), `The project's sessions that match, newest first, at most ${MAX_LISTED_SESSIONS}`), ...errors },
  }),
  async (c) => {
    const { status, q } = c.req.valid("query");
    const query = q === undefined ? undefined : parseMetadataQuery(q);
    if (q !== undefined && !query) throw new ApiError(400, "q: expected user_metadata['key']:'value' (nested: user_metadata['a']['b']:'value')");
    return c.json(unwrap(await c.env.PROJECTS.getByName(c.get("projectId")).list({ status, query })), 200);
  },
);

sessions.openapi(
  createRoute({
    method: "get",
    path: "/v1/sessions/{id}",
    tags,
    request: { params: SessionIdParam },
    responses: { 200: json(SessionRetrieveResponse, "The session; connection fields while it runs"), ...errors },
  }),
  async (c) => c.json(unwrap(await sessionStub(c.env, c.req.valid("param").id).get(c.get("projectId"))), 200),
);

sessions.openapi(
  createRoute({
    method: "post",
    path: "/v1/sessions/{id}",
    tags,
    // Required: a POST without `status: "REQUEST_RELEASE"` must not end a session.
    request: { params: SessionIdParam, body: jsonBody(SessionUpdateBody, { required: true }) },
    responses: { 200: json(Session, "The session; releasing a finished one changes nothing"), ...errors },
  }),
  async (c) => {
    const projectId = c.get("projectId");
    sameProject(c.req.valid("json").projectId, projectId);
    return c.json(unwrap(await sessionStub(c.env, c.req.valid("param").id).release(projectId)), 200);
  },
);

sessions.openapi(
  createRoute({
    method: "get",
    path: "/v1/sessions/{id}/debug",
    tags,
    request: { params: SessionIdParam, query: DebugQuery },
    responses: { 200: json(SessionLiveUrls, "The session's live view (debuggerFullscreenUrl) and DevTools (debuggerUrl) URLs, per page too"), ...errors },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { expiresIn, readOnly } = c.req.valid("query");
    const projectId = c.get("projectId");
    const session = sessionStub(c.env, id);
    const { expiresAt, direct } = unwrap(await session.liveNode(projectId));
    const config = readConfig(c.env);
    const origin = edgeOrigin(config.edgePublicUrl, c.req.url);
    const endpoint = direct ? directEndpoint(direct, config.connectScheme) : edgeEndpoint(origin, id.toLowerCase());
    const until = expiresIn === undefined ? expiresAt : Math.min(expiresAt, Date.now() + expiresIn * 1000);
    const key = await signingKey(c.env);
    const sessionId = id.toLowerCase();
    const token = await signCdpToken(key, { sessionId, projectId, expiresAtMs: until });
    // The live view gets its own token: it opens the screencast and input, never CDP.
    const liveToken = await signLiveToken(key, { sessionId, projectId, expiresAtMs: until, readOnly: readOnly === "true" });
    const list = await session.callNode(projectId, { op: "json", path: "/json/list" }, DEBUG_TARGETS_TIMEOUT_MS);
    if (!list.ok) {
      if (list.error.status === 409) throw ApiError.from(list.error);
      throw new ApiError(502, "The session's browser node did not answer", { retry: true, cause: list.error });
    }
    return c.json(liveUrls(endpoint, token, targetsOf(list.value), (page) => liveViewUrl(origin, sessionId, liveToken, page)), 200);
  },
);
