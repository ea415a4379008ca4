/**
 * Which session may save each context (its writer), as the project's ProjectObject keeps it in
 * SQLite beside the session index. A session that opens a context with `persist: true` holds it
 * while it lives and, once ended, until its node saved the profile, reported its exit or was
 * reported stopped by ECS; a node that does none of these (crashed, its reports lost) lets go
 * when the edge stops taking its late writes (ARTIFACT_LATE_WRITE_GRACE_MS after the end), so a
 * context is never locked for ever. The expiry is read lazily from the index, no timer needed.
 */
import { ARTIFACT_LATE_WRITE_GRACE_MS } from "../node-protocol.ts";
import { fail, type Outcome } from "../errors.ts";

/**
 * How long after its writer's end a context's profile is expected to be saved (a node's stop and
 * its upload take a few seconds). Until then a create of that context waits for the save; after
 * it, the create is refused until the save lands or the writer lets go.
 */
export const PROFILE_SAVE_WAIT_MS = 20_000;

export const CONTEXT_WRITERS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS context_writers (session_id TEXT PRIMARY KEY, context_id TEXT NOT NULL);`;

/** A context's writer: its session still lives ("open"), or ended and its profile is on its way ("saving"). */
export type ContextWriter =
  | { sessionId: string; state: "open" }
  | { sessionId: string; state: "saving"; endedAt: number; expectedBy: number; heldUntil: number };

export class ContextWriters {
  /** Creates waiting for a context's save, woken when its writer lets go. In memory: they are requests in flight. */
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(private readonly sql: SqlStorage) {}

  /** The session holding `contextId` at `now`, if any. */
  of(contextId: string, now = Date.now()): ContextWriter | undefined {
    const rows = this.sql
      .exec<{ session_id: string; status: string; created_at: number; ended_at: number | null }>(
        `SELECT w.session_id, s.status, s.created_at, s.ended_at FROM context_writers w JOIN sessions s ON s.id = w.session_id
         WHERE w.context_id = ?`,
        contextId,
      )
      .toArray();
    for (const row of rows) {
      if (row.status === "PENDING" || row.status === "RUNNING") return { sessionId: row.session_id, state: "open" };
      const endedAt = row.ended_at ?? row.created_at;
      const heldUntil = endedAt + ARTIFACT_LATE_WRITE_GRACE_MS;
      if (now < heldUntil) return { sessionId: row.session_id, state: "saving", endedAt, expectedBy: endedAt + PROFILE_SAVE_WAIT_MS, heldUntil };
    }
    return undefined;
  }

  /** Whether `sessionId` may commit a profile of `contextId` now. */
  holds(sessionId: string, contextId: string, now = Date.now()): boolean {
    return this.of(contextId, now)?.sessionId === sessionId;
  }

  /** `sessionId` becomes the writer; a former writer past its grace loses the context for good. */
  hold(sessionId: string, contextId: string) {
    this.sql.exec("DELETE FROM context_writers WHERE context_id = ?", contextId);
    this.sql.exec("INSERT OR REPLACE INTO context_writers VALUES (?, ?)", sessionId, contextId);
  }

  /** `sessionId` lets go of what it holds (its profile is saved, or its node can save nothing more). */
  release(sessionId: string) {
    const held = this.sql.exec<{ context_id: string }>("SELECT context_id FROM context_writers WHERE session_id = ?", sessionId).toArray();
    this.sql.exec("DELETE FROM context_writers WHERE session_id = ?", sessionId);
    for (const { context_id } of held) for (const wake of [...(this.waiting.get(context_id) ?? [])]) wake();
  }

  /**
   * Waits while `contextId`'s writer has ended but its profile is not saved yet, so the session
   * being admitted starts from that profile: until the writer lets go, or its save is overdue
   * (PROFILE_SAVE_WAIT_MS after its end). Answers the writer it gave up on, if any.
   */
  async awaitSave(contextId: string): Promise<Extract<ContextWriter, { state: "saving" }> | undefined> {
    for (;;) {
      const now = Date.now();
      const writer = this.of(contextId, now);
      if (writer?.state !== "saving") return undefined;
      if (now >= writer.expectedBy) return writer;
      await this.letGo(contextId, writer.expectedBy - now);
    }
  }

  /** How many creates wait for `contextId`'s save (the tests' way to know one does). */
  waitingFor(contextId: string): number {
    return this.waiting.get(contextId)?.size ?? 0;
  }

  /** Resolves once a writer of `contextId` lets go, or after `ms`. */
  private letGo(contextId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(contextId) ?? new Set<() => void>();
      this.waiting.set(contextId, waiters);
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiting.get(contextId) === waiters) this.waiting.delete(contextId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiters.add(wake);
    });
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A create refused because another session holds the context it would save. */
export function contextHeld(contextId: string, writer: ContextWriter): Outcome<never> {
  if (writer.state === "open")
    return fail(
      409,
      `browserSettings.context: context ${contextId} is open with persist: true in session ${writer.sessionId}; ` +
        `one session at a time may save a context (open it with persist: false, or wait for that session to end)`,
      false,
    );
  return fail(
    409,
    `browserSettings.context: context ${contextId} is still being saved by session ${writer.sessionId}, which ended at ${iso(writer.endedAt)}; ` +
      `create the session again once the save lands (the context is let go by ${iso(writer.heldUntil)} at the latest)`,
    false,
  );
}
