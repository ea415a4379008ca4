/**
 * The session resource, field by field as the Browserbase API and its SDK 2.21 define it. Unknown
 * body keys are dropped (browserSettings keeps them, for the node); a bad value is a 400 naming
 * the field.
 */
import { z } from "@hono/zod-openapi";
import { DEFAULT_VIEWPORT, VIEWPORT_BOUNDS } from "../browser-settings.ts";
import { compileDomainPattern, MAX_DOMAIN_PATTERN_CHARS } from "../egress-rules.ts";
import { proxyServerProblem } from "../sessions/proxy-routes.ts";
import { REGIONS, SESSION_STATUSES } from "../sessions/session-record.ts";
import { MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS } from "../projects/project-record.ts";
import { jsonBytes, MAX_PROXIES_BYTES, MAX_USER_METADATA_BYTES } from "../sessions/input-bounds.ts";

export const Region = z.enum(REGIONS);
export const SessionStatus = z.enum(SESSION_STATUSES);

export const Session = z
  .object({
    id: z.uuid(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    startedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    endedAt: z.iso.datetime().optional(),
    projectId: z.string(),
    keepAlive: z.boolean(),
    proxyBytes: z.number(),
    region: Region,
    status: SessionStatus,
    contextId: z.string().optional(),
    userMetadata: z.record(z.string(), z.any().openapi({ description: "any JSON value" })).optional(),
  })
  .openapi("Session");

/** A JSON value at most `max` UTF-8 bytes long as JSON. */
const boundedJson = <T extends z.ZodType>(schema: T, max: number) =>
  schema.refine((value) => jsonBytes(value) <= max, { message: `larger than ${max} bytes as JSON` });

const UserMetadata = boundedJson(z.record(z.string(), z.any().openapi({ description: "any JSON value" })), MAX_USER_METADATA_BYTES).openapi({
  description: `Any JSON object, at most ${MAX_USER_METADATA_BYTES} bytes as UTF-8 JSON`,
});

/** A regular expression tested against each request's host (edge/egress-rules.ts). */
const domainPattern = z
  .string()
  .min(1)
  .max(MAX_DOMAIN_PATTERN_CHARS)
  .superRefine((pattern, ctx) => {
    const compiled = compileDomainPattern(pattern);
    if ("problem" in compiled) ctx.addIssue({ code: "custom", message: compiled.problem });
  })
  .optional();
const server = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = proxyServerProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
const Geolocation = z
  .object({
    country: z.string().regex(/^[A-Za-z]{2}$/, "expected an ISO 3166-1 alpha-2 country code"),
    city: z.string().min(1).max(100).optional(),
    state: z.string().regex(/^[A-Za-z]{2}$/, "expected a two-letter US state code").optional(),
  })
  .loose()
  .refine((g) => g.state === undefined || g.country.toUpperCase() === "US", { message: "state needs country US", path: ["state"] });
const ProxyConfig = z.discriminatedUnion("type", [
  z.object({ type: z.literal("browserbase"), domainPattern, geolocation: Geolocation.optional() }).loose(),
  z.object({ type: z.literal("external"), server, username: z.string().optional(), password: z.string().optional(), domainPattern }).loose(),
  z.object({ type: z.literal("none"), domainPattern }).loose(),
]);

/**
 * Browserbase's `proxies`: `true` (the managed proxies) or entries, the first whose pattern
 * matches a request's host carrying it (egress in docs/edge.md). Answers mask passwords.
 */
export const Proxies = boundedJson(z.union([z.boolean(), z.array(ProxyConfig).max(100)]), MAX_PROXIES_BYTES).openapi({
  description: `true, or proxy entries (first matching domainPattern wins); at most ${MAX_PROXIES_BYTES} bytes as JSON. Answers mask passwords.`,
});

const connection = {
  connectUrl: z.string().openapi({ description: "ws(s)://<node>?signingKey=<JWT>: browser-level CDP endpoint" }),
  seleniumRemoteUrl: z.string().openapi({ description: "Selenium is not served yet" }),
  signingKey: z.string().openapi({ description: "The CDP token (ES256 JWT) for this session's node" }),
};

/** What the client sent that the Session shape has no field for: create and retrieve answer it. */
const sent = {
  browserSettings: z.record(z.string(), z.any()).optional().openapi({ description: "As the create sent it" }),
  proxies: z.any().optional().openapi({ description: "As the create sent it, passwords masked" }),
};

export const SessionCreateResponse = Session.extend({ ...connection, ...sent }).openapi("SessionCreateResponse");
export const SessionRetrieveResponse = Session.extend({
  ...sent,
  connectUrl: connection.connectUrl.optional(),
  seleniumRemoteUrl: connection.seleniumRemoteUrl.optional(),
  signingKey: connection.signingKey.optional(),
}).openapi("SessionRetrieveResponse");

const flag = z.boolean().optional();

// By the rules the node checks too: a side left out is filled here, so the node gets both.
const side = (name: keyof typeof VIEWPORT_BOUNDS) =>
  z.number().int().min(VIEWPORT_BOUNDS[name].min).max(VIEWPORT_BOUNDS[name].max).default(DEFAULT_VIEWPORT[name]);
const viewport = z
  .object({ width: side("width"), height: side("height") })
  .openapi({ description: `The browser window; a side left out is the default's (${DEFAULT_VIEWPORT.width} × ${DEFAULT_VIEWPORT.height})` });

export const BrowserSettings = z
  .object({
    context: z.object({ id: z.string().min(1), persist: flag }).optional(),
    extensionId: z.string().min(1).optional(),
    viewport: viewport.optional(),
    blockAds: flag,
    solveCaptchas: flag,
    recordSession: flag,
    logSession: flag,
    ignoreCertificateErrors: flag,
    advancedStealth: flag,
    verified: flag,
    os: z.enum(["windows", "mac", "linux", "mobile", "tablet"]).optional(),
    allowedDomains: z.array(z.string().min(1).max(253)).max(1000).optional(),
    captchaImageSelector: z.string().optional(),
    captchaInputSelector: z.string().optional(),
  })
  .loose()
  .openapi("BrowserSettings");

export const SessionCreateBody = z
  .object({
    projectId: z.string().optional(),
    extensionId: z.string().min(1).optional(),
    keepAlive: z.boolean().optional(),
    region: Region.optional(),
    timeout: z.number().int().min(MIN_TIMEOUT_SECONDS).max(MAX_TIMEOUT_SECONDS).optional().openapi({ description: "Seconds; default: the project's defaultTimeout" }),
    userMetadata: UserMetadata.optional(),
    proxies: Proxies.optional(),
    browserSettings: BrowserSettings.optional(),
  })
  .openapi("SessionCreateParams");

export const SessionUpdateBody = z
  .object({ status: z.literal("REQUEST_RELEASE"), projectId: z.string().optional() })
  .openapi("SessionUpdateParams");

export const SessionListQuery = z.object({
  status: SessionStatus.optional(),
  q: z.string().optional().openapi({ description: "user_metadata['key']:'value', nested user_metadata['a']['b']:'v'" }),
});

export const SessionIdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

export const DebugQuery = z.object({
  expiresIn: z.coerce.number().int().min(1).max(MAX_TIMEOUT_SECONDS).optional(),
  /** Wallcrawler's own: the live view URLs carry a read-only token (their holder can only watch). */
  readOnly: z.enum(["true", "false"]).optional().openapi({ description: "true: debuggerFullscreenUrl's token only watches, whatever its page's readOnly says" }),
});

const Page = z.object({
  id: z.string(),
  url: z.string(),
  title: z.string(),
  faviconUrl: z.string(),
  debuggerUrl: z.string(),
  debuggerFullscreenUrl: z.string(),
});

export const SessionLiveUrls = z
  .object({ debuggerFullscreenUrl: z.string(), debuggerUrl: z.string(), wsUrl: z.string(), pages: z.array(Page) })
  .openapi("SessionLiveURLs");
