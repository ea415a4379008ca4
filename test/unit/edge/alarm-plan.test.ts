/** When a session's alarm fires next (edge/sessions/alarm-plan.ts), and when its record may go. */
import { describe, expect, it } from "vitest";
import { linkGraceEnd, MAX_STOP_ATTEMPTS, nextAlarmAt, RETRY_DELAY_MS, retentionOver } from "../../../edge/sessions/alarm-plan.ts";
import { LINK_RECONNECT_GRACE_MS } from "../../../edge/node-protocol.ts";
import type { SessionRecord } from "../../../edge/sessions/session-record.ts";

const timings = { retentionMs: 30 * 86_400_000 };
const now = 1_800_000_000_000;

function record(fields: Partial<SessionRecord>): SessionRecord {
  return {
    id: "00000000-0000-4000-8000-000000000000",
    projectId: "p",
    status: "RUNNING",
    version: 3,
    indexedVersion: 3,
    createdAt: now - 10_000,
    updatedAt: now - 10_000,
    expiresAt: now + 3_600_000,
    keepAlive: false,
    region: "us-east-1",
    artifacts: { logSession: true, recordSession: true },
    startDeadline: now + 90_000,
    ...fields,
  };
}

describe("nextAlarmAt", () => {
  it("is the start deadline while PENDING, even one already past", () => {
    expect(nextAlarmAt(record({ status: "PENDING", startDeadline: now - 1 }), timings, now)).toBe(now - 1);
  });

  it("is expiresAt while RUNNING with its link up, however long the node has been quiet", () => {
    expect(nextAlarmAt(record({ updatedAt: now - 86_400_000 }), timings, now)).toBe(now + 3_600_000);
  });

  it("ends the link's reconnect grace while the link is down, unless the deadline comes first", () => {
    expect(nextAlarmAt(record({ linkLostAt: now - 1_000 }), timings, now)).toBe(now - 1_000 + LINK_RECONNECT_GRACE_MS);
    expect(nextAlarmAt(record({ status: "PENDING", linkLostAt: now }), timings, now)).toBe(now + LINK_RECONNECT_GRACE_MS);
    expect(nextAlarmAt(record({ linkLostAt: now, expiresAt: now + 10 }), timings, now)).toBe(now + 10);
    expect(linkGraceEnd(record({}))).toBe(Infinity);
  });

  it("waits out the retention of a finished session that owes nothing", () => {
    expect(nextAlarmAt(record({ status: "COMPLETED", endedAt: now - 1_000 }), timings, now)).toBe(now - 1_000 + timings.retentionMs);
    // No end time recorded: retention counts from now rather than never.
    expect(nextAlarmAt(record({ status: "ERROR" }), timings, now)).toBe(now + timings.retentionMs);
  });

  it("retries a StopTask still owed, until the attempts run out", () => {
    const owed = { status: "ERROR" as const, endedAt: now, stopOwed: true, taskArn: "arn:task" };
    expect(nextAlarmAt(record({ ...owed, stopAttempts: MAX_STOP_ATTEMPTS - 1 }), timings, now)).toBe(now + RETRY_DELAY_MS);
    expect(nextAlarmAt(record({ ...owed, stopAttempts: MAX_STOP_ATTEMPTS }), timings, now)).toBe(now + timings.retentionMs);
    // No task was ever started: there is nothing to stop.
    expect(nextAlarmAt(record({ ...owed, taskArn: undefined }), timings, now)).toBe(now + timings.retentionMs);
  });

  it("retries an index update the project has not acknowledged, including a record it never saw", () => {
    const ended = { status: "TIMED_OUT" as const, endedAt: now, version: 5 };
    expect(nextAlarmAt(record({ ...ended, indexedVersion: 4 }), timings, now)).toBe(now + RETRY_DELAY_MS);
    expect(nextAlarmAt(record({ ...ended, indexedVersion: undefined }), timings, now)).toBe(now + RETRY_DELAY_MS);
    expect(nextAlarmAt(record({ ...ended, indexedVersion: 5 }), timings, now)).toBe(now + timings.retentionMs);
  });
});

describe("retentionOver", () => {
  it("never holds for a live session, however old", () => {
    expect(retentionOver(record({ status: "RUNNING", updatedAt: 0 }), timings, now)).toBe(false);
    expect(retentionOver(record({ status: "PENDING", updatedAt: 0 }), timings, now)).toBe(false);
  });

  it("holds from the exact end of the retention period, counted from endedAt or else the last update", () => {
    const endedAt = now - timings.retentionMs;
    expect(retentionOver(record({ status: "COMPLETED", endedAt }), timings, now)).toBe(true);
    expect(retentionOver(record({ status: "COMPLETED", endedAt: endedAt + 1 }), timings, now)).toBe(false);
    expect(retentionOver(record({ status: "ERROR", updatedAt: endedAt }), timings, now)).toBe(true);
  });
});
