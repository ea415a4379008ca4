/**
 * When a session's alarm should next fire, given its record: the start deadline while PENDING;
 * `expiresAt` while RUNNING; the end of the link's reconnect grace while the node's link is down;
 * once over, a retry of anything still owed to ECS or the project index, and finally the removal
 * of the record after the retention period.
 */
import { LINK_RECONNECT_GRACE_MS } from "../node-protocol.ts";
import { isFinal, type SessionRecord } from "./session-record.ts";

export interface AlarmTimings {
  retentionMs: number;
}

export const RETRY_DELAY_MS = 30_000;
/** StopTask is retried this many times (every RETRY_DELAY_MS) before the edge gives up and logs it. */
export const MAX_STOP_ATTEMPTS = 20;

export function nextAlarmAt(r: SessionRecord, t: AlarmTimings, now: number): number {
  if (!isFinal(r.status)) {
    const deadline = r.status === "PENDING" ? r.startDeadline : r.expiresAt;
    return r.linkLostAt === undefined ? deadline : Math.min(deadline, linkGraceEnd(r));
  }
  const times = [(r.endedAt ?? now) + t.retentionMs];
  if (r.stopOwed && r.taskArn && (r.stopAttempts ?? 0) < MAX_STOP_ATTEMPTS) times.push(now + RETRY_DELAY_MS);
  if ((r.indexedVersion ?? 0) < r.version) times.push(now + RETRY_DELAY_MS);
  return Math.min(...times);
}

/** When a node whose link dropped (and whose task still ran) must have reopened it. */
export const linkGraceEnd = (r: SessionRecord) => (r.linkLostAt ?? Infinity) + LINK_RECONNECT_GRACE_MS;

/** Whether the record's retention period is over (only finished sessions have one). */
export const retentionOver = (r: SessionRecord, t: AlarmTimings, now: number) =>
  isFinal(r.status) && now >= (r.endedAt ?? r.updatedAt) + t.retentionMs;
