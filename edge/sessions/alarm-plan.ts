/**
 * When a session's alarm should next fire, given its record: the start deadline while PENDING;
 * `expiresAt` or the heartbeat check while RUNNING; once over, a retry of anything still owed
 * to ECS or the project index, and finally the removal of the record after the retention period.
 */
import { isFinal, type SessionRecord } from "./session-record.ts";

export interface AlarmTimings {
  heartbeatTimeoutMs: number;
  retentionMs: number;
}

export const RETRY_DELAY_MS = 30_000;
/** StopTask is retried this many times (every RETRY_DELAY_MS) before the edge gives up and logs it. */
export const MAX_STOP_ATTEMPTS = 20;

export function nextAlarmAt(r: SessionRecord, t: AlarmTimings, now: number): number {
  if (r.status === "PENDING") return r.startDeadline;
  if (r.status === "RUNNING") {
    const lastSign = Math.max(r.lastHeartbeatAt ?? r.updatedAt, r.taskCheckedAt ?? 0);
    return Math.min(r.expiresAt, lastSign + t.heartbeatTimeoutMs);
  }
  const times = [(r.endedAt ?? now) + t.retentionMs];
  if (r.stopOwed && r.taskArn && (r.stopAttempts ?? 0) < MAX_STOP_ATTEMPTS) times.push(now + RETRY_DELAY_MS);
  if ((r.indexedVersion ?? 0) < r.version) times.push(now + RETRY_DELAY_MS);
  return Math.min(...times);
}

/** Whether the record's retention period is over (only finished sessions have one). */
export const retentionOver = (r: SessionRecord, t: AlarmTimings, now: number) =>
  isFinal(r.status) && now >= (r.endedAt ?? r.updatedAt) + t.retentionMs;
