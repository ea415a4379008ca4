/**
 * What a pool's alarm does next, as a pure function of its members, its settings and the time
 * (docs/pool.md): which members to forget (starting too long; reserved for a session that never
 * linked them), which to retire (warm past the idle limit, or beyond the pool's size), how many to
 * start, and when to look again.
 */
import type { Member } from "./member-store.ts";
import type { PoolSettings } from "./pool-settings.ts";

/** The pool looks at itself at least this often while it is on or owes anything. */
export const POOL_TICK_MS = 60_000;
/**
 * A claim's refill starts this long after it: the member starting then would otherwise share the
 * machine with the claimed one while it takes its session and its client connects (locally, the
 * same two cores; measured: warm creates 10-15 ms slower behind a node's launch). A Fargate task
 * takes 30-60 s to start, so a second changes little there.
 */
export const REFILL_AFTER_CLAIM_MS = 1_000;
/** A claimed member is remembered this long, so its task's events still reach its session (sessions last at most 6 h). */
export const CLAIMED_MEMORY_MS = 7 * 3_600_000;
/** RunTask failures back off from this, doubling, up to MAX_BACKOFF_MS. */
export const FIRST_BACKOFF_MS = 5_000;
export const MAX_BACKOFF_MS = 5 * 60_000;

export interface RefillPlan {
  /** Starting past the start timeout: forget, stop their tasks. */
  expired: Member[];
  /** Reserved, never linked within the start timeout: forget (their tasks are their sessions'). */
  abandoned: Member[];
  /** Warm past the idle limit, or more than the pool's size: close 4011, stop their tasks. */
  retire: Member[];
  /** Claimed long ago: forget. */
  forgotten: Member[];
  /** Members to start now. */
  start: number;
}

export function planRefill(members: Member[], s: PoolSettings, now: number, backoffUntil: number): RefillPlan {
  const expired = members.filter((m) => m.state === "starting" && now - m.createdAt >= s.startTimeoutMs);
  const abandoned = members.filter((m) => m.state === "reserved" && now - m.createdAt >= s.startTimeoutMs);
  const forgotten = members.filter((m) => m.state === "claimed" && now - m.since >= CLAIMED_MEMORY_MS);
  const warm = members.filter((m) => m.state === "warm").sort((a, b) => a.since - b.since);
  const idle = warm.filter((m) => now - m.since >= s.idleMs);
  const fresh = warm.filter((m) => now - m.since < s.idleMs);
  const starting = members.filter((m) => m.state === "starting" && !expired.includes(m)).length;
  // Over size (the pool shrank): the oldest warm members go first.
  const surplus = Math.max(0, fresh.length + starting - s.size);
  const retire = [...idle, ...fresh.slice(0, Math.min(surplus, fresh.length))];
  const kept = fresh.length - Math.min(surplus, fresh.length) + starting;
  const start = s.edgeUrl && now >= backoffUntil ? Math.max(0, s.size - kept) : 0;
  return { expired, abandoned, retire, forgotten, start };
}

/** When the alarm should fire next; undefined when the pool is off and owes nothing. */
export function nextPoolAlarm(members: Member[], s: PoolSettings, now: number, owesStops: boolean, backoffUntil: number): number | undefined {
  const times: number[] = [];
  for (const m of members) {
    if (m.state === "starting" || m.state === "reserved") times.push(m.createdAt + s.startTimeoutMs);
    else if (m.state === "warm") times.push(m.since + s.idleMs);
    else times.push(m.since + CLAIMED_MEMORY_MS);
  }
  if (s.size > 0 || owesStops) times.push(now + POOL_TICK_MS);
  if (s.size > 0 && backoffUntil > now) times.push(backoffUntil);
  if (!times.length) return undefined;
  return Math.max(now + 100, Math.min(now + POOL_TICK_MS, ...times));
}

export const backoffAfter = (failures: number) => Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
