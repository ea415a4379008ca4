/**
 * One ProjectObject per project: its settings, the index of its sessions (for listing and
 * filters), the concurrency limit and usage. Each SessionObject reports its changes here with a
 * version, so updates that arrive out of order never roll a session back.
 */
import { DurableObject } from "cloudflare:workers";
import type { EdgeEnv } from "../env.ts";
import { fail, ok, type Outcome } from "../errors.ts";
import { log } from "../log.ts";
import { readConfig } from "../config.ts";
import type { Project, ProjectUsage } from "../projects/project-record.ts";
import { matchesMetadataQuery, type MetadataQuery } from "../sessions/metadata-query.ts";
import {
  newSessionRecord,
  indexEntry,
  isFinal,
  type ApiSession,
  type IndexEntry,
  type Json,
  type Region,
  type SessionRecord,
  type SessionStatus,
} from "../sessions/session-record.ts";

export interface AdmitRequest {
  id: string;
  createdAt: number;
  timeoutSeconds?: number;
  keepAlive: boolean;
  region: Region;
  userMetadata?: Record<string, Json>;
  contextId?: string;
}

const LIVE = ["PENDING", "RUNNING"] as const;
const minutes = (from: number, to: number) => Math.ceil(Math.max(0, to - from) / 60_000);

export class ProjectObject extends DurableObject<EdgeEnv> {
  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS sessions (
         id TEXT PRIMARY KEY, status TEXT NOT NULL, version INTEGER NOT NULL,
         created_at INTEGER NOT NULL, ended_at INTEGER, view TEXT NOT NULL);
       CREATE INDEX IF NOT EXISTS sessions_by_status ON sessions (status, created_at);`,
    );
  }

  private get kv() {
    return this.ctx.storage.kv;
  }

  create(project: Project): Outcome<Project> {
    if (this.kv.get("project")) return fail(409, `Project ${project.id} already exists`);
    this.kv.put("project", project);
    return ok(project);
  }

  get(): Project | undefined {
    return this.kv.get<Project>("project");
  }

  update(patch: Partial<Pick<Project, "name" | "concurrency" | "defaultTimeout">>): Outcome<Project> {
    const project = this.get();
    if (!project) return fail(404, "Project not found");
    const updated = { ...project, ...patch, updatedAt: new Date().toISOString() };
    this.kv.put("project", updated);
    return ok(updated);
  }

  /**
   * Takes a slot under the concurrency limit for a new session and indexes it as PENDING.
   * Counting and inserting happen with no await between them, so two creates cannot both take
   * the last slot.
   */
  async admit(req: AdmitRequest): Promise<Outcome<SessionRecord>> {
    const project = this.get();
    if (!project) return fail(404, "The API key's project no longer exists");
    if (this.liveCount() >= project.concurrency) await this.reconcileLive();
    const live = this.liveCount();
    if (live >= project.concurrency)
      return fail(
        429,
        `You've reached your project's concurrent sessions limit (limit ${project.concurrency}, currently ${live}). ` +
          `Release a session with status REQUEST_RELEASE, wait for one to end, or raise the project's concurrency.`,
      );
    const config = readConfig(this.env);
    const record = newSessionRecord({
      ...req,
      projectId: project.id,
      expiresAt: req.createdAt + (req.timeoutSeconds ?? project.defaultTimeout) * 1000,
      startDeadline: req.createdAt + config.startTimeoutMs,
    });
    this.record(indexEntry(record));
    return ok({ ...record, indexedVersion: record.version });
  }

  /** Applies a session's change, unless a newer one was already applied. */
  record(entry: IndexEntry): void {
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
  }

  /** Drops a session past its retention; its minutes stay in the project's usage. */
  forget(id: string): void {
    const row = this.ctx.storage.sql.exec<{ created_at: number; ended_at: number | null }>(
      "SELECT created_at, ended_at FROM sessions WHERE id = ?",
      id,
    ).toArray()[0];
    if (!row) return;
    this.kv.put("retiredMinutes", (this.kv.get<number>("retiredMinutes") ?? 0) + minutes(row.created_at, row.ended_at ?? Date.now()));
    this.ctx.storage.sql.exec("DELETE FROM sessions WHERE id = ?", id);
  }

  list(filter: { status?: SessionStatus; query?: MetadataQuery }): ApiSession[] {
    const rows = filter.status
      ? this.ctx.storage.sql.exec<{ view: string }>("SELECT view FROM sessions WHERE status = ? ORDER BY created_at DESC", filter.status)
      : this.ctx.storage.sql.exec<{ view: string }>("SELECT view FROM sessions ORDER BY created_at DESC");
    const views = rows.toArray().map((row) => JSON.parse(row.view) as ApiSession);
    return filter.query ? views.filter((v) => matchesMetadataQuery(v.userMetadata, filter.query!)) : views;
  }

  usage(): ProjectUsage {
    const now = Date.now();
    const rows = this.ctx.storage.sql.exec<{ created_at: number; ended_at: number | null }>("SELECT created_at, ended_at FROM sessions").toArray();
    const live = rows.reduce((sum, r) => sum + minutes(r.created_at, r.ended_at ?? now), 0);
    return { browserMinutes: (this.kv.get<number>("retiredMinutes") ?? 0) + live, proxyBytes: 0 };
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
          if (entry && isFinal(entry.status)) this.record(entry);
          else if (!entry) this.ctx.storage.sql.exec("DELETE FROM sessions WHERE id = ?", row.id);
        } catch (error) {
          log("warn", "project.reconcile_failed", { sessionId: row.id, error: String(error) });
        }
      }),
    );
  }
}
