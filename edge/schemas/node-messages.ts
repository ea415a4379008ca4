/**
 * The edge's checks of what nodes and ECS send it, as zod schemas. The shapes themselves are the
 * protocol's types (`node-protocol.ts`, which both sides import); `Exactly` below makes the
 * typecheck fail when a schema and its type drift apart.
 */
import { z } from "@hono/zod-openapi";
import * as Protocol from "../node-protocol.ts";
import { ArtifactLimits, CDP_TOKEN_AUDIENCE, EXIT_REASONS, NODE_TOKEN_AUDIENCE, POOL_LINK_TOKEN_AUDIENCE, TOKEN_ISSUER } from "../node-protocol.ts";

export const CdpTokenClaims = z.object({
  iss: z.literal(TOKEN_ISSUER),
  aud: z.literal(CDP_TOKEN_AUDIENCE),
  sub: z.string().uuid(),
  pid: z.string(),
  iat: z.number().int(),
  exp: z.number().int(),
});

export const NodeTokenClaims = z.object({
  iss: z.literal(TOKEN_ISSUER),
  aud: z.literal(NODE_TOKEN_AUDIENCE),
  sub: z.string().uuid(),
  iat: z.number().int(),
  exp: z.number().int(),
});

export const PoolLinkTokenClaims = z.object({
  iss: z.literal(TOKEN_ISSUER),
  aud: z.literal(POOL_LINK_TOKEN_AUDIENCE),
  sub: z.string().uuid(),
  pool: z.string().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
});

export const ExitReason = z.enum(EXIT_REASONS);

const ByteCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const NodeExit = z.object({ reason: ExitReason, detail: z.string().max(2000).optional(), proxyBytes: ByteCount.optional() });

export const NodeUsage = z.object({ proxyBytes: ByteCount });

const Ready = z.object({
  t: z.literal("ready"),
  browserVersion: z.string().min(1),
  direct: z.object({ host: z.string().min(1).optional(), port: z.number().int().min(1).max(65535) }).optional(),
});

/** What a pool member sends on its pool link (JSON text frames). */
export const NodeToPool = z.union([z.object({ t: z.literal("warm"), browserVersion: z.string().min(1) }), Ready]);

/** Everything a node sends on its link (JSON text frames). */
export const NodeToEdge = z.union([
  Ready,
  z.object({ t: z.literal("exit"), ...NodeExit.shape }),
  z.object({ t: z.literal("reply"), id: z.number().int(), ok: z.literal(true), value: z.unknown() }),
  z.object({ t: z.literal("reply"), id: z.number().int(), ok: z.literal(false), status: z.number().int(), message: z.string() }),
]);

export const FrontendFile = z.object({ status: z.number().int().min(200).max(599), contentType: z.string().optional(), body: z.string() });

export const EcsTaskStateChange = z.object({
  "detail-type": z.literal("ECS Task State Change"),
  source: z.literal("aws.ecs"),
  detail: z.object({
    taskArn: z.string(),
    clusterArn: z.string().optional(),
    lastStatus: z.string(),
    desiredStatus: z.string().optional(),
    startedBy: z.string().optional(),
    stopCode: z.string().optional(),
    stoppedReason: z.string().optional(),
    containers: z
      .array(z.object({ name: z.string().optional(), exitCode: z.number().optional(), reason: z.string().optional() }))
      .optional(),
  }),
});

export const SessionLogEntry = z.object({
  method: z.string(),
  pageId: z.number().int(),
  sessionId: z.string(),
  frameId: z.string().optional(),
  loaderId: z.string().optional(),
  request: z.object({ params: z.record(z.string(), z.unknown()), rawBody: z.string(), timestamp: z.number().optional() }).optional(),
  response: z.object({ result: z.record(z.string(), z.unknown()), rawBody: z.string(), timestamp: z.number().optional() }).optional(),
  timestamp: z.number().optional(),
});

export const LogBatch = z.object({ entries: z.array(SessionLogEntry).max(ArtifactLimits.batchItems) });

export const RecordingEvent = z.object({
  type: z.number().int(),
  timestamp: z.number(),
  data: z.unknown(),
  pageId: z.string().optional(),
});

export const RecordingBatch = z.object({ events: z.array(RecordingEvent).max(ArtifactLimits.batchItems) });

export const NodeUploadReply = z.object({ path: z.string().min(1) });

/** `true` only when A and B are the same type, optional keys included (mutual assignability would miss those). */
type Exactly<A, B> = (<T>() => T extends Simplify<A> ? 1 : 2) extends <T>() => T extends Simplify<B> ? 1 : 2 ? true : false;
type Simplify<T> = T extends object ? { [K in keyof T]: Simplify<T[K]> } : T;
type Parsed<S extends z.ZodType> = z.infer<S>;

// Each line fails to typecheck when its schema no longer parses exactly the protocol's type.
const schemasMatchTheProtocol: [
  Exactly<Parsed<typeof CdpTokenClaims>, Protocol.CdpTokenClaims>,
  Exactly<Parsed<typeof NodeTokenClaims>, Protocol.NodeTokenClaims>,
  Exactly<Parsed<typeof ExitReason>, Protocol.ExitReason>,
  Exactly<Parsed<typeof NodeExit>, Protocol.NodeExit>,
  Exactly<Parsed<typeof NodeToEdge>, Protocol.NodeToEdge>,
  Exactly<Parsed<typeof FrontendFile>, Protocol.FrontendFile>,
  Exactly<Parsed<typeof EcsTaskStateChange>, Protocol.EcsTaskStateChange>,
  Exactly<Parsed<typeof SessionLogEntry>, Protocol.SessionLogEntry>,
  Exactly<Parsed<typeof LogBatch>, Protocol.LogBatch>,
  Exactly<Parsed<typeof RecordingEvent>, Protocol.RecordingEvent>,
  Exactly<Parsed<typeof RecordingBatch>, Protocol.RecordingBatch>,
  Exactly<Parsed<typeof NodeUploadReply>, Protocol.NodeUploadReply>,
  Exactly<Parsed<typeof NodeUsage>, Protocol.NodeUsage>,
  Exactly<Parsed<typeof PoolLinkTokenClaims>, Protocol.PoolLinkTokenClaims>,
  Exactly<Parsed<typeof NodeToPool>, Protocol.NodeToPool>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];
void schemasMatchTheProtocol;
