/**
 * A session's record in its SessionObject's storage, and the only code that reads or writes it.
 * The object's parts (lifecycle, task, reports, artifact ledger) are each given this store, never
 * the storage: a change is a patch of named fields, applied to the record as it is now (another
 * part may have changed it across an await), so no part writes back a copy it read earlier.
 *
 * The object is the record's only writer, so the store keeps it in memory once read: a create
 * reads it a dozen times, and each read of storage is a deserialisation. A record handed out is
 * frozen, as it is shared with every later reader.
 */
import type { SessionRecord } from "../sessions/session-record.ts";

/** The record's key in the object's KV storage (records of running platforms use it too). */
const RECORD = "session";

/** A change to the record; a field patched with `undefined` is removed. */
export type SessionPatch = { [K in keyof SessionRecord]?: SessionRecord[K] | undefined };

export class SessionStore {
  /** The record as last read or written; null: there is none; undefined: not read yet. */
  private cached: Readonly<SessionRecord> | null | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  load(): SessionRecord | undefined {
    if (this.cached === undefined) this.cached = this.keep(this.storage.kv.get<SessionRecord>(RECORD)) ?? null;
    return this.cached ?? undefined;
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
    this.storage.kv.put(RECORD, r);
    this.cached = this.keep({ ...r });
    return true;
  }

  /** Applies `patch` to the record as it is now and answers the result. */
  update(patch: SessionPatch): SessionRecord {
    const next: Record<string, unknown> = { ...this.require() };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete next[key];
      else next[key] = value;
    }
    this.storage.kv.put(RECORD, next);
    return (this.cached = this.keep(next as unknown as SessionRecord));
  }

  /** Removes the record and everything else the object stored (the session's purge). */
  async deleteAll(): Promise<void> {
    const deleting = this.storage.deleteAll();
    this.cached = null;
    await deleting;
  }

  private keep<T extends SessionRecord | undefined>(r: T): T {
    return r && (Object.freeze(r) as T);
  }
}
