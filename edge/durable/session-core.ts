/**
 * What every SessionObject operation builds on: the session's record in storage, the waiters of
 * a create in flight, and the one way a session ends (finish), with what an end still owes: the
 * task's StopTask, the project index's update, and at last the record's removal.
 */
import { DurableObject } from "cloudflare:workers";
import type { EdgeEnv } from "../env.ts";
import { readConfig } from "../config.ts";
import { ApiError, type ErrorShape } from "../errors.ts";
import { log } from "../log.ts";
import { awsCredentials } from "../aws/aws-call.ts";
import { EcsClient } from "../aws/ecs-client.ts";
import { nextAlarmAt, RETRY_DELAY_MS } from "../sessions/alarm-plan.ts";
import { blobKey, deletePrefix } from "../artifacts/blob-store.ts";
import { indexEntry, isFinal, type FinalStatus, type SessionRecord } from "../sessions/session-record.ts";
import type { CloseReason } from "./cdp-relay.ts";

const RECORD = "session";
/** What a session of another project, or none, answers: the same 404 either way. */
export const NOT_FOUND = "Session not found";

export interface Ending {
  /** Whether the edge must stop the task (false when ECS already reports it stopped, or none was started). */
  stop: boolean;
  /** What a create still waiting for this session answers. */
  failure?: ErrorShape;
  /** The close frame the session's CDP clients get (default: the one for the final status). */
  close?: CloseReason;
  /** The node reported this end itself (its exit), so it is not told `end` over its link. */
  fromNode?: boolean;
}

export abstract class SessionCore extends DurableObject<EdgeEnv> {
  protected waiters: (() => void)[] = [];
  protected createFailure?: ErrorShape;
  private ecsClient?: EcsClient;

  protected get config() {
    return readConfig(this.env);
  }

  protected load(): SessionRecord | undefined {
    return this.ctx.storage.kv.get<SessionRecord>(RECORD);
  }

  protected save(r: SessionRecord) {
    this.ctx.storage.kv.put(RECORD, r);
  }

  protected ecs(): EcsClient {
    if (this.ecsClient) return this.ecsClient;
    const credentials = awsCredentials(this.env);
    if (!credentials) throw new ApiError(503, "The edge has no AWS credentials configured", { retry: false });
    return (this.ecsClient = new EcsClient(this.config.ecs, credentials));
  }

  protected wake() {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  protected async scheduleAlarm() {
    const r = this.load();
    if (r) await this.ctx.storage.setAlarm(nextAlarmAt(r, this.config, Date.now()));
  }

  protected async finish(status: FinalStatus, reason: string, ending: Ending): Promise<void> {
    const r = this.load();
    if (!r || isFinal(r.status)) return;
    const now = Date.now();
    const { signingKey: _revoked, ...rest } = r;
    this.save({ ...rest, status, endedAt: now, updatedAt: now, version: r.version + 1, endReason: reason, stopOwed: ending.stop, stopAttempts: 0 });
    if (ending.failure) this.createFailure = ending.failure;
    log("info", "session.ended", { sessionId: r.id, projectId: r.projectId, status, reason });
    this.wake();
    this.ended(status, reason, ending);
    await this.settleStop();
    await this.syncIndex();
    if (!ending.stop) await this.releaseContext();
    await this.scheduleAlarm();
  }

  /**
   * The session's node can save nothing more (it reported its exit, its task stopped, or it never
   * started): a context it would have saved goes to the next writer at once instead of after the
   * late-write grace. Must come after its final status reached the index (finish's syncIndex).
   */
  protected async releaseContext(): Promise<void> {
    const r = this.load();
    if (!r?.artifacts?.context?.persist) return;
    try {
      await this.env.PROJECTS.getByName(r.projectId).releaseContext(r.id);
    } catch (error) {
      log("warn", "session.context_release_failed", { sessionId: r.id, error: String(error) });
    }
  }

  /** What else an end closes: the node's link and the session's CDP clients (the SessionObject's). */
  protected ended(_status: FinalStatus, _reason: string, _ending: Ending): void {}

  protected async settleStop(): Promise<void> {
    const r = this.load();
    if (!r?.stopOwed || !r.taskArn) return;
    try {
      await this.ecs().stopTask(r.taskArn, `wallcrawler: ${r.endReason ?? "session ended"}`);
      this.save({ ...this.load()!, stopOwed: false });
    } catch (error) {
      const current = this.load()!;
      this.save({ ...current, stopAttempts: (current.stopAttempts ?? 0) + 1 });
      log("warn", "session.stop_failed", { sessionId: r.id, taskArn: r.taskArn, attempt: current.stopAttempts ?? 0, error: String(error) });
    }
  }

  protected async syncIndex(): Promise<void> {
    const r = this.load();
    if (!r || (r.indexedVersion ?? 0) >= r.version) return;
    try {
      await this.env.PROJECTS.getByName(r.projectId).indexSession(indexEntry(r));
      const current = this.load();
      if (current) this.save({ ...current, indexedVersion: Math.max(current.indexedVersion ?? 0, r.version) });
    } catch (error) {
      log("warn", "session.index_failed", { sessionId: r.id, error: String(error) });
    }
  }

  /** Past the retention period: the session's blobs, its index entry, then its record and log. */
  protected async purge(r: SessionRecord): Promise<void> {
    try {
      await deletePrefix(this.env.BLOBS, blobKey.sessionDir(r.id));
      await this.env.PROJECTS.getByName(r.projectId).retireSession(r.id);
    } catch (error) {
      log("warn", "session.purge_failed", { sessionId: r.id, error: String(error) });
      return this.ctx.storage.setAlarm(Date.now() + RETRY_DELAY_MS);
    }
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    log("info", "session.purged", { sessionId: r.id, projectId: r.projectId });
  }
}
