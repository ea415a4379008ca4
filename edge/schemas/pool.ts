/**
 * What `GET /admin/pools` answers: each region's warm pool, its members by id and state (never a
 * token); and `GET /admin/sessions/{id}/node`: which member and task serve a session.
 */
import { z } from "@hono/zod-openapi";
import { SessionStatus } from "./session.ts";

export const PoolMember = z.object({
  id: z.string(),
  state: z.enum(["starting", "warm", "reserved", "claimed"]),
  since: z.string().openapi({ description: "When it entered its state (ISO-8601)" }),
  sessionId: z.string().optional().openapi({ description: "The session it serves (reserved, claimed)" }),
});

export const SessionNode = z
  .object({
    sessionId: z.string(),
    projectId: z.string(),
    status: SessionStatus,
    pool: z.string().optional().openapi({ description: "The pool (region) its node came from" }),
    memberId: z.string().optional().openapi({ description: "The pool member serving it; a reserved member's (the cold path) is the session's id" }),
    taskArn: z.string().optional().openapi({ description: "Its node's ECS task" }),
  })
  .openapi("SessionNode");
export type SessionNodeView = z.infer<typeof SessionNode>;

export const PoolState = z
  .object({
    region: z.string(),
    size: z.number().int().openapi({ description: "WARM_POOL_SIZE: members kept warm (0: the pool is off)" }),
    warm: z.number().int(),
    starting: z.number().int(),
    claimedLastHour: z.number().int().openapi({ description: "Claims in the last hour, from a warm member or a reserved (cold) one" }),
    members: z.array(PoolMember),
  })
  .openapi("PoolState");
