/**
 * What a region's pool runs by, as the Worker that calls it reads its vars (docs/pool.md). Every
 * call into the pool brings them (a claim, a task event, the cron's wake-up) and the pool keeps
 * the latest for its alarm: the edge's own URL is only known from a request when EDGE_PUBLIC_URL
 * is unset, and a changed WARM_POOL_SIZE applies at the next call.
 */
import type { EdgeConfig } from "../config.ts";

export interface PoolSettings {
  /** The pool's name: the ECS region (one pool per region). */
  name: string;
  /** Members kept warm (WARM_POOL_SIZE); 0 turns the pool off. */
  size: number;
  /** A warm member older than this is retired and replaced (WARM_POOL_IDLE_SECONDS). */
  idleMs: number;
  /** A member not linked and warm within this is forgotten and its task stopped (SESSION_START_TIMEOUT_SECONDS). */
  startTimeoutMs: number;
  /** The edge's base URL for the members' WC_EDGE_URL; unknown until a request brings it when EDGE_PUBLIC_URL is unset. */
  edgeUrl?: string;
}

export const poolSettings = (config: EdgeConfig, edgeUrl = config.edgePublicUrl): PoolSettings => ({
  name: config.ecs.region,
  size: config.pool.size,
  idleMs: config.pool.idleMs,
  startTimeoutMs: config.startTimeoutMs,
  edgeUrl,
});

/** A bootstrap token outlives everything a member may wait for: its start, its idle time, and a margin. */
export const bootstrapTokenExpiry = (now: number, s: Pick<PoolSettings, "idleMs" | "startTimeoutMs">) => now + s.idleMs + s.startTimeoutMs + 15 * 60_000;
