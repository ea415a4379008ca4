/**
 * The artifact ledger: a session's artifacts as its SessionObject keeps them: the CDP log in its own SQLite (bounded
 * in entries and bytes, oldest dropped first: small enough to answer in one piece), and the
 * names of its blobs in R2 (the latest downloads zip; the recording, one blob per batch, append
 * only and refused once full). Who may read and write them: the client of the session's project,
 * and the session's own node while the session lives and for a short grace after its end.
 */
import { ARTIFACT_LATE_WRITE_GRACE_MS, ArtifactLimits } from "../node-protocol.ts";
import { fail, ok, type Outcome } from "../errors.ts";
import { log } from "../log.ts";
import { blobKey } from "../artifacts/blob-store.ts";
import type { EdgeEnv } from "../env.ts";
import { isFinal } from "../sessions/session-record.ts";
import { NOT_FOUND } from "./session-lifecycle.ts";
import type { SessionStore } from "./session-store.ts";

interface Downloads {
  blob: string;
  bytes: number;
}
interface Recording {
  /** Blobs 0..next-1 were written (a failed write leaves a gap, which readers skip). */
  next: number;
  events: number;
  bytes: number;
}

export type NodeWrite = "context" | "downloads" | "logs" | "recording" | "usage";

export class ArtifactLedger {
  private logTable = false;

  constructor(
    private readonly store: SessionStore,
    private readonly ctx: DurableObjectState,
    private readonly env: EdgeEnv,
  ) {}

  // ---- the client's reads (its project's sessions only) --------------------------------------

  logs(projectId: string): Outcome<string[]> {
    const r = this.store.owned(projectId);
    if (!r) return fail(404, NOT_FOUND);
    this.ensureLogTable();
    return ok(this.ctx.storage.sql.exec<{ entry: string }>("SELECT entry FROM logs ORDER BY seq").toArray().map((row) => row.entry));
  }

  recordingBlobs(projectId: string): Outcome<string[]> {
    const r = this.store.owned(projectId);
    if (!r) return fail(404, NOT_FOUND);
    const next = this.ctx.storage.kv.get<Recording>("recording")?.next ?? 0;
    return ok(Array.from({ length: next }, (_, n) => blobKey.recording(r.id, n)));
  }

  /** The latest downloads zip, and whether the session runs (then its node is asked for a fresher one). */
  downloads(projectId: string): Outcome<{ blob?: string; live: boolean }> {
    const r = this.store.owned(projectId);
    if (!r) return fail(404, NOT_FOUND);
    const blob = this.ctx.storage.kv.get<Downloads>("downloads")?.blob;
    return ok({ blob, live: r.status === "RUNNING" });
  }

  // ---- the node's reads and writes (the route checked its node token) ------------------------

  /** What the node loads at its start: the session's extension or context, while the session lives. */
  artifactToLoad(kind: "extension" | "context"): Outcome<{ projectId: string; id: string }> {
    const r = this.store.load();
    if (!r) return fail(404, NOT_FOUND);
    if (isFinal(r.status)) return fail(409, `The session is over (${r.status})`);
    const a = r.artifacts;
    const id = kind === "extension" ? a.extensionId : a.context?.id;
    return id ? ok({ projectId: r.projectId, id }) : fail(404, `The session has no ${kind}`);
  }

  /** Whether the node may write `kind` now; asked before a large body is read, and again on commit. */
  nodeMayWrite(kind: NodeWrite): Outcome<{ projectId: string; contextId?: string }> {
    const r = this.store.load();
    if (!r) return fail(404, NOT_FOUND);
    if (isFinal(r.status) && Date.now() > (r.endedAt ?? r.updatedAt) + ARTIFACT_LATE_WRITE_GRACE_MS)
      return fail(409, `The session ended more than ${ARTIFACT_LATE_WRITE_GRACE_MS / 1000} s ago (${r.status}); its artifacts are closed`);
    const a = r.artifacts;
    if (kind === "context" && !a.context) return fail(409, "The session has no context to save");
    if (kind === "context" && !a.context!.persist) return fail(409, `The session opened context ${a.context!.id} with persist: false`);
    if (kind === "logs" && !a.logSession) return fail(409, "The session was created with browserSettings.logSession: false");
    if (kind === "recording" && !a.recordSession) return fail(409, "The session was created with browserSettings.recordSession: false");
    return ok({ projectId: r.projectId, contextId: a.context?.id });
  }

  /** Appends serialized SessionLog entries, then drops the oldest beyond the bounds. */
  appendLogs(entries: { json: string; bytes: number }[]): Outcome<{ accepted: number; kept: number }> {
    const access = this.nodeMayWrite("logs");
    if (!access.ok) return access;
    this.ensureLogTable();
    const sql = this.ctx.storage.sql;
    for (const e of entries) sql.exec("INSERT INTO logs (entry, bytes) VALUES (?, ?)", e.json, e.bytes);
    sql.exec("DELETE FROM logs WHERE seq <= (SELECT seq FROM logs ORDER BY seq DESC LIMIT 1 OFFSET ?)", ArtifactLimits.logEntries);
    sql.exec(
      `DELETE FROM logs WHERE seq <= (SELECT seq FROM (SELECT seq, SUM(bytes) OVER (ORDER BY seq DESC) AS newer FROM logs)
       WHERE newer > ? ORDER BY seq DESC LIMIT 1)`,
      ArtifactLimits.logBytes,
    );
    return ok({ accepted: entries.length, kept: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM logs").one().n });
  }

  /** Stores one batch of recording events (JSON array items, comma-joined) after the others. */
  async appendRecording(chunk: string, events: number, bytes: number): Promise<Outcome<{ accepted: number; kept: number }>> {
    const access = this.nodeMayWrite("recording");
    if (!access.ok) return access;
    const kv = this.ctx.storage.kv;
    const state = kv.get<Recording>("recording") ?? { next: 0, events: 0, bytes: 0 };
    if (events === 0) return ok({ accepted: 0, kept: state.events }); // an empty blob would break the joined array
    if (state.events + events > ArtifactLimits.recordingEvents || state.bytes + bytes > ArtifactLimits.recordingBytes)
      return fail(
        413,
        `The session's recording is full (${state.events} events, ${state.bytes} bytes kept; ` +
          `bounds ${ArtifactLimits.recordingEvents} events, ${ArtifactLimits.recordingBytes} bytes)`,
      );
    const n = state.next;
    // Counted before the write so concurrent batches cannot both pass the bound.
    kv.put("recording", { next: n + 1, events: state.events + events, bytes: state.bytes + bytes });
    try {
      await this.env.BLOBS.put(blobKey.recording(this.store.require().id, n), chunk, { httpMetadata: { contentType: "application/json" } });
    } catch (error) {
      const now = kv.get<Recording>("recording")!;
      kv.put("recording", { ...now, events: now.events - events, bytes: now.bytes - bytes });
      log("warn", "session.recording_write_failed", { sessionId: this.store.require().id, error: String(error) });
      return fail(503, "The recording could not be stored; try again", true);
    }
    const kept = kv.get<Recording>("recording")!.events;
    return ok({ accepted: events, kept });
  }

  /** Makes `blob` the session's downloads zip and deletes the one it replaces. */
  async commitDownloads(blob: string, bytes: number): Promise<Outcome<{ bytes: number }>> {
    const access = this.nodeMayWrite("downloads");
    if (!access.ok) return access;
    const previous = this.ctx.storage.kv.get<Downloads>("downloads");
    this.ctx.storage.kv.put("downloads", { blob, bytes } satisfies Downloads);
    if (previous) await this.env.BLOBS.delete(previous.blob).catch((error) => log("warn", "session.blob_delete_failed", { error: String(error) }));
    return ok({ bytes });
  }

  // ---- internals ----------------------------------------------------------------------------

  private ensureLogTable() {
    if (this.logTable) return;
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL, bytes INTEGER NOT NULL)");
    this.logTable = true;
  }
}
