/**
 * A session's record in its SessionObject's storage, and the only code that reads or writes it.
 * The object's parts (lifecycle, task, reports, artifact ledger) are each given this store, never
 * the storage: a change is a patch of named fields, applied to the record as it is now (another
 * part may have changed it across an await), so no part writes back a copy it read earlier.
 */
import type { SessionRecord } from "../sessions/session-record.ts";

/** The record's key in the object's KV storage (records of running platforms use it too). */
const RECORD = "session";

/** A change to the record; a field patched with `undefined` is removed. */
export type SessionPatch = { [K in keyof SessionRecord]?: SessionRecord[K] | undefined };

export class SessionStore {
  constructor(private readonly kv: SyncKvStorage) {}

  load(): SessionRecord | undefined {
    return this.kv.get<SessionRecord>(RECORD);
  }

  /** The record, where only a session that exists can be (its creation came first). */
  require(): SessionRecord {
    const r = this.load();
    if (!r) throw new Error("The session's record is missing");
    return r;
  }

  /** The record of `projectId`'s session: a session of another project is not found, like none. */
  owned(projectId: string): SessionRecord | undefined {
    const r = this.load();
    return r && r.projectId === projectId ? r : undefined;
  }

  /** Writes the session's first record; false when it exists already. */
  create(r: SessionRecord): boolean {
    if (this.load()) return false;
    this.kv.put(RECORD, r);
    return true;
  }

  /** Applies `patch` to the record as it is now and answers the result. */
  update(patch: SessionPatch): SessionRecord {
    const next: Record<string, unknown> = { ...this.require() };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete next[key];
      else next[key] = value;
    }
    this.kv.put(RECORD, next);
    return next as unknown as SessionRecord;
  }
}
