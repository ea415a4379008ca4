/**
 * One ProjectObject per project: its settings, the index of its sessions (for listing and
 * filters), the concurrency limit and usage. Each SessionObject reports its changes here with a
 * version, so updates that arrive out of order never roll a session back.
 */
import { DurableObject } from "cloudflare:workers";
import type { EdgeEnv } from "../env.ts";
import { fail, ok, type Outcome } from "../errors.ts";
import { ArtifactCatalog, CATALOG_SCHEMA, type ContextRow, type ExtensionRow } from "../projects/artifact-catalog.ts";
import { CONTEXT_WRITERS_SCHEMA, contextHeld, ContextWriters } from "../projects/context-writers.ts";
import { blobKey, deletePrefix } from "../artifacts/blob-store.ts";
import { log, useLogLevel } from "../log.ts";
import { readConfig } from "../config.ts";
import type { Project, ProjectUsage } from "../projects/project-record.ts";
import { matchesMetadataQuery, type MetadataQuery } from "../sessions/metadata-query.ts";
import { MAX_LISTED_SESSIONS } from "../sessions/input-bounds.ts";
import {
  newSessionRecord,
  indexEntry,
  isFinal,
  type ApiSession,
  type IndexEntry,
  type Json,
  type Region,
  type SessionArtifactSettings,
  type Admission,
  type SessionStatus,
} from "../sessions/session-record.ts";

export interface AdmitRequest {
  id: string;
  createdAt: number;
  timeoutSeconds?: number;
  keepAlive: boolean;
  region: Region;
  userMetadata?: Record<string, Json>;
  artifacts: SessionArtifactSettings;
}

const LIVE = ["PENDING", "RUNNING"] as const;
const PROJECT_NOT_FOUND = "Project not found";
/** What an API key whose project was deleted meets. */
const PROJECT_GONE = "The API key's project no longer exists";
const EXTENSION_NOT_FOUND = "Extension not found";
const CONTEXT_NOT_FOUND = "Context not found";
const minutes = (from: number, to: number) => Math.ceil(Math.max(0, to - from) / 60_000);

export class ProjectObject extends DurableObject<EdgeEnv> {
  private readonly catalog: ArtifactCatalog;
  private readonly writers: ContextWriters;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    useLogLevel(env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS sessions (
         id TEXT PRIMARY KEY, status TEXT NOT NULL, version INTEGER NOT NULL,
         created_at INTEGER NOT NULL, ended_at INTEGER, view TEXT NOT NULL);
       CREATE INDEX IF NOT EXISTS sessions_by_status ON sessions (status, created_at);` +
        CATALOG_SCHEMA +
        CONTEXT_WRITERS_SCHEMA,
    );
    this.catalog = new ArtifactCatalog(ctx.storage.sql);
    this.writers = new ContextWriters(ctx.storage.sql);
  }

  private get kv() {
    return this.ctx.storage.kv;
  }

  private project(): Project | undefined {
    return this.kv.get<Project>("project");
  }

  create(project: Project): Outcome<Project> {
    if (this.kv.get("project")) return fail(409, `Project ${project.id} already exists`);
    this.kv.put("project", project);
    return ok(project);
  }

  get(): Outcome<Project> {
    const project = this.project();
    return project ? ok(project) : fail(404, PROJECT_NOT_FOUND);
  }

  update(patch: Partial<Pick<Project, "name" | "concurrency" | "defaultTimeout">>): Outcome<Project> {
    const project = this.project();
    if (!project) return fail(404, PROJECT_NOT_FOUND);
    const updated = { ...project, ...patch, updatedAt: new Date().toISOString() };
    this.kv.put("project", updated);
    return ok(updated);
  }

  /**
   * Takes a slot under the concurrency limit for a new session and indexes it as PENDING.
   * Counting and inserting happen with no await between them, so two creates cannot both take
   * the last slot. A session of a context whose last writer just ended waits for that writer's
   * save first: it must start from the profile its user just left.
   */
  async admit(req: AdmitRequest): Promise<Outcome<Admission>> {
    const project = this.project();
    if (!project) return fail(404, PROJECT_GONE);
    const missing = this.missingReference(req.artifacts);
    if (missing) return missing;
    const context = req.artifacts.context;
    const overdue = context && (await this.writers.awaitSave(context.id));
    if (overdue) return contextHeld(context.id, overdue);
    if (this.liveCount() >= project.concurrency) await this.reconcileLive();
    const live = this.liveCount();
    if (live >= project.concurrency)
      return fail(
        429,
        `You've reached your project's concurrent sessions limit (limit ${project.concurrency}, currently ${live}). ` +
          `Release a session with status REQUEST_RELEASE, wait for one to end, or raise the project's concurrency.`,
      );
    const config = readConfig(this.env);
    const admission: Admission = {
      projectId: project.id,
      expiresAt: req.createdAt + (req.timeoutSeconds ?? project.defaultTimeout) * 1000,
      startDeadline: req.createdAt + config.startTimeoutMs,
    };
    // After the awaits above, with none from here on: the check sees every admitted writer.
    const writer = context?.persist ? this.writers.of(context.id) : undefined;
    if (writer) return contextHeld(context!.id, writer);
    // Indexed as its SessionObject will record it (that one is built there, from the same create).
    const { timeoutSeconds: _, ...create } = req;
    this.indexSession(indexEntry(newSessionRecord({ ...create, ...admission })));
    if (context?.persist) this.writers.hold(req.id, context.id);
    return ok(admission);
  }

  /** A create's extension and context must be this project's. */
  private missingReference(a: SessionArtifactSettings): Outcome<never> | undefined {
    if (a.extensionId && !this.catalog.extension(a.extensionId)) return fail(404, `extensionId: no extension ${a.extensionId} in this project`);
    if (a.context && !this.catalog.context(a.context.id)) return fail(404, `browserSettings.context.id: no context ${a.context.id} in this project`);
    return undefined;
  }

  // ---- extensions and contexts ----------------------------------------------------------------

  addExtension(row: ExtensionRow): Outcome<ExtensionRow> {
    if (!this.project()) return fail(404, PROJECT_GONE);
    this.catalog.addExtension(row);
    return ok(row);
  }

  /** `missing` is the 404's message (a client's lookup and a node's differ). */
  extension(id: string, missing = EXTENSION_NOT_FOUND): Outcome<ExtensionRow> {
    const row = this.catalog.extension(id);
    return row ? ok(row) : fail(404, missing);
  }

  /** Its blob goes after its row, so no new reader finds it. */
  async deleteExtension(id: string): Promise<Outcome<null>> {
    const row = this.catalog.extension(id);
    if (!row) return fail(404, EXTENSION_NOT_FOUND);
    this.catalog.removeExtension(id);
    await this.deleteBlobs(row.blob, () => this.env.BLOBS.delete(row.blob));
    return ok(null);
  }

  createContext(init: { id: string; name?: string; now: number }): Outcome<ContextRow> {
    if (!this.project()) return fail(404, PROJECT_GONE);
    if (init.name !== undefined && this.catalog.contextNamed(init.name)) return fail(409, `name: a context named "${init.name}" already exists`, false);
    const row: ContextRow = { id: init.id, createdAt: init.now, updatedAt: init.now };
    if (init.name !== undefined) row.name = init.name;
    this.catalog.addContext(row);
    return ok(row);
  }

  /** `missing` is the 404's message (a client's lookup and a node's differ). */
  context(id: string, missing = CONTEXT_NOT_FOUND): Outcome<ContextRow> {
    const row = this.catalog.context(id);
    return row ? ok(row) : fail(404, missing);
  }

  touchContext(id: string): Outcome<ContextRow> {
    if (!this.catalog.context(id)) return fail(404, CONTEXT_NOT_FOUND);
    this.catalog.touchContext(id, Date.now());
    return ok(this.catalog.context(id)!);
  }

  /**
   * Makes `blob` the context's saved profile and deletes the one it replaces. A context deleted
   * meanwhile is a 404, a session's save once it no longer holds the context a 409: the caller
   * deletes the blob it wrote. `writer` is the saving session (none for a client's upload); its
   * save lets go of the context.
   */
  async commitProfile(contextId: string, blob: string, bytes: number, writer?: string): Promise<Outcome<{ bytes: number }>> {
    const row = this.catalog.context(contextId);
    if (!row) return fail(404, `Context ${contextId} no longer exists`);
    if (writer !== undefined) {
      const holds = this.mayCommitProfile(contextId, writer);
      if (!holds.ok) return holds;
    }
    this.catalog.setProfile(contextId, blob, bytes, Date.now());
    if (writer !== undefined) this.writers.release(writer);
    if (row.profile) await this.deleteBlobs(row.profile, () => this.env.BLOBS.delete(row.profile!));
    return ok({ bytes });
  }

  /** Whether session `writer` may save `contextId`'s profile: asked before its upload is read, and again at its commit. */
  mayCommitProfile(contextId: string, writer: string): Outcome<null> {
    if (this.writers.holds(writer, contextId)) return ok(null);
    return fail(
      409,
      `Session ${writer} no longer holds context ${contextId} (its save came after the late-write grace, or another session saves the context now); ` +
        `the profile is not kept`,
      false,
    );
  }

  /** The session's node can save nothing more (it exited, or its task stopped): its context may go to the next writer. */
  releaseContext(sessionId: string): Outcome<null> {
    this.writers.release(sessionId);
    return ok(null);
  }

  /**
   * The row goes first: a profile written meanwhile then fails its commit and is deleted by its
   * writer; every committed one is under the folder.
   */
  async deleteContext(id: string): Promise<Outcome<null>> {
    const project = this.project();
    if (!project || !this.catalog.context(id)) return fail(404, CONTEXT_NOT_FOUND);
    this.catalog.removeContext(id);
    const folder = blobKey.contextDir(project.id, id);
    await this.deleteBlobs(folder, () => deletePrefix(this.env.BLOBS, folder));
    return ok(null);
  }

  /** A blob that could not be deleted is storage left behind, not a failed delete: logged, not thrown. */
  private async deleteBlobs(what: string, remove: () => Promise<unknown>) {
    try {
      await remove();
    } catch (error) {
      log("warn", "project.blob_delete_failed", { blob: what, error: String(error) });
    }
  }

  /** Applies a session's change to the index, unless a newer one was already applied. */
  indexSession(entry: IndexEntry): Outcome<null> {
    this.ctx.storage.sql.exec(
      `INSERT INTO sessions (id, status, version, created_at, ended_at, view) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version,
         ended_at = excluded.ended_at, view = excluded.view
       WHERE excluded.version > sessions.version`,
      entry.id,
      entry.status,
      entry.version,
      entry.createdAt,
      entry.endedAt ?? null,
      JSON.stringify(entry.view),
    );
    return ok(null);
  }

  /** Drops a session past its retention from the index; its minutes and proxy bytes stay in the project's usage. */
  retireSession(id: string): Outcome<null> {
    const row = this.ctx.storage.sql.exec<{ created_at: number; ended_at: number | null; proxy_bytes: number | null }>(
      "SELECT created_at, ended_at, json_extract(view, '$.proxyBytes') AS proxy_bytes FROM sessions WHERE id = ?",
      id,
    ).toArray()[0];
    if (!row) return ok(null);
    this.kv.put("retiredMinutes", (this.kv.get<number>("retiredMinutes") ?? 0) + minutes(row.created_at, row.ended_at ?? Date.now()));
    this.kv.put("retiredProxyBytes", (this.kv.get<number>("retiredProxyBytes") ?? 0) + (row.proxy_bytes ?? 0));
    this.ctx.storage.sql.exec("DELETE FROM sessions WHERE id = ?", id);
    this.writers.release(id);
    return ok(null);
  }

  /** The newest sessions that match, at most MAX_LISTED_SESSIONS: the filter sees every session, the bound what matches. */
  list(filter: { status?: SessionStatus; query?: MetadataQuery }): Outcome<ApiSession[]> {
    const rows = filter.status
      ? this.ctx.storage.sql.exec<{ view: string }>("SELECT view FROM sessions WHERE status = ? ORDER BY created_at DESC", filter.status)
      : this.ctx.storage.sql.exec<{ view: string }>("SELECT view FROM sessions ORDER BY created_at DESC");
    const views: ApiSession[] = [];
    for (const row of rows) {
      if (views.length === MAX_LISTED_SESSIONS) break;
      const view = JSON.parse(row.view) as ApiSession;
      if (!filter.query || matchesMetadataQuery(view.userMetadata, filter.query)) views.push(view);
    }
    return ok(views);
  }

  usage(): Outcome<ProjectUsage> {
    if (!this.project()) return fail(404, PROJECT_NOT_FOUND);
    const now = Date.now();
    const rows = this.ctx.storage.sql.exec<{ created_at: number; ended_at: number | null }>("SELECT created_at, ended_at FROM sessions").toArray();
    const live = rows.reduce((sum, r) => sum + minutes(r.created_at, r.ended_at ?? now), 0);
    const bytes = this.ctx.storage.sql.exec<{ n: number | null }>("SELECT SUM(json_extract(view, '$.proxyBytes')) AS n FROM sessions").one().n ?? 0;
    return ok({ browserMinutes: (this.kv.get<number>("retiredMinutes") ?? 0) + live, proxyBytes: (this.kv.get<number>("retiredProxyBytes") ?? 0) + bytes });
  }

  private liveCount(): number {
    return this.ctx.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM sessions WHERE status IN ('PENDING', 'RUNNING')`).one().n;
  }

  /**
   * At the limit, asks the sessions that should have ended by now for their real status: a
   * change report that never arrived must not hold a slot forever.
   */
  private async reconcileLive() {
    const config = readConfig(this.env);
    const now = Date.now();
    const rows = this.ctx.storage.sql.exec<{ id: string; status: string; view: string }>(
      `SELECT id, status, view FROM sessions WHERE status IN (${LIVE.map(() => "?").join(",")})`,
      ...LIVE,
    ).toArray();
    const overdue = rows.filter((row) => {
      const view = JSON.parse(row.view) as ApiSession;
      const created = Date.parse(view.createdAt);
      return row.status === "PENDING" ? now > created + config.startTimeoutMs + 30_000 : now > Date.parse(view.expiresAt) + 30_000;
    });
    await Promise.all(
      overdue.map(async (row) => {
        try {
          const entry = await this.env.SESSIONS.getByName(row.id).indexEntry();
          if (entry.ok && isFinal(entry.value.status)) this.indexSession(entry.value);
          else if (!entry.ok && entry.error.status === 404) this.ctx.storage.sql.exec("DELETE FROM sessions WHERE id = ?", row.id);
        } catch (error) {
          log("warn", "project.reconcile_failed", { sessionId: row.id, error: String(error) });
        }
      }),
    );
  }
}
