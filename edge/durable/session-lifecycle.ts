/**
 * A session's status and what moves it: PENDING → RUNNING → COMPLETED | TIMED_OUT | ERROR, with
 * the create waiting until it leaves PENDING, the alarms that end a session nobody else ends,
 * the node link's loss and return (or its pool member's loss before it linked), and the one way a session ends (finish) with what an end
 * still owes: the task's StopTask, the project index's update, the context's release and, past
 * the retention period, the session's removal. Once a session is over nothing moves it again.
 */
import type { EdgeEnv } from "../env.ts";
import { readConfig } from "../config.ts";
import { ApiError, type ErrorShape } from "../errors.ts";
import { log } from "../log.ts";
import { awsCredentials } from "../aws/aws-call.ts";
import { EcsClient } from "../aws/ecs-client.ts";
import { linkGraceEnd, nextAlarmAt, retentionOver, RETRY_DELAY_MS } from "../sessions/alarm-plan.ts";
import { blobKey, deletePrefix } from "../artifacts/blob-store.ts";
import { indexEntry, isFinal, type FinalStatus, type NodeAddress, type SessionRecord } from "../sessions/session-record.ts";
import { judgeLinkLoss } from "./link-loss.ts";
import type { SessionStore } from "./session-store.ts";

/** What a session of another project, or none, answers: the same 404 either way. */
export const NOT_FOUND = "Session not found";

export interface Ending {
  /** Whether the edge must stop the task (false when ECS already reports it stopped, or none was started). */
  stop: boolean;
  /** What a create still waiting for this session answers. */
  failure?: ErrorShape;
  /** The node reported this end itself (its exit), so it is not told `end` over its link. */
  fromNode?: boolean;
}

/** What the lifecycle needs of the rest of its SessionObject. */
export interface LifecycleHooks {
  /** An end the node did not report is told to the node (which closes the session's clients). */
  ended(status: FinalStatus, reason: string, ending: Ending): void;
  /** Whether the node's link is open now. */
  linkOpen(): boolean;
}

export class SessionLifecycle {
  /** Creates waiting for the session to leave PENDING (requests in flight: memory is enough). */
  private waiters: (() => void)[] = [];
  /** What a waiting create answers when the session ended before it ran. */
  private createFailure?: ErrorShape;
  private ecsClient?: EcsClient;

  constructor(
    private readonly store: SessionStore,
    private readonly ctx: DurableObjectState,
    private readonly env: EdgeEnv,
    private readonly hooks: LifecycleHooks,
  ) {}

  get config() {
    return readConfig(this.env);
  }

  ecs(): EcsClient {
    if (this.ecsClient) return this.ecsClient;
    const credentials = awsCredentials(this.env);
    if (!credentials) throw new ApiError(503, "The edge has no AWS credentials configured", { retry: false });
    return (this.ecsClient = new EcsClient(this.config.ecs, credentials));
  }

  /** The record once the session left PENDING (running, or over). */
  async settled(): Promise<SessionRecord> {
    let r = this.store.require();
    while (r.status === "PENDING") {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      r = this.store.require();
    }
    return r;
  }

  /** Why a create's session ended before it ran. */
  createFailed(r: SessionRecord): ErrorShape {
    return this.createFailure ?? { status: 502, message: `The session ended before its browser was ready: ${r.endReason}`, retry: false };
  }

  /** PENDING → RUNNING, with the node's address and the clients' CDP token. */
  async run(node: NodeAddress, signingKey: string): Promise<void> {
    const r = this.store.require();
    const now = Date.now();
    this.store.update({ status: "RUNNING", version: r.version + 1, updatedAt: now, node, signingKey });
    log("info", "session.running", { sessionId: r.id, projectId: r.projectId, startMs: now - r.createdAt });
    this.wake();
    await this.reportToProject();
    await this.scheduleAlarm();
  }

  async finish(status: FinalStatus, reason: string, ending: Ending): Promise<void> {
    const r = this.store.load();
    if (!r || isFinal(r.status)) return;
    const now = Date.now();
    this.store.update({
      status,
      endedAt: now,
      updatedAt: now,
      version: r.version + 1,
      endReason: reason,
      stopOwed: ending.stop,
      stopAttempts: 0,
      signingKey: undefined, // the CDP token dies with the session
    });
    if (ending.failure) this.createFailure = ending.failure;
    log("info", "session.ended", { sessionId: r.id, projectId: r.projectId, status, reason });
    this.wake();
    this.hooks.ended(status, reason, ending);
    // ECS's StopTask beside the edge's own bookkeeping: a release answers after the slower of the
    // two, not both (a call to AWS from a Worker takes tens of milliseconds).
    await Promise.all([
      this.stopTaskIfOwed(),
      (async () => {
        await this.releaseMember();
        await this.reportToProject();
        if (!ending.stop) await this.releaseContext();
      })(),
    ]);
    await this.scheduleAlarm();
  }

  /**
   * The session is over: a member still reserved for it, or claimed but not linked yet, is
   * nobody's any more (the pool drops it; its task is the session's to stop). Nothing to do once
   * its node opened the session link; the pool answers that as well.
   */
  private async releaseMember(): Promise<void> {
    const r = this.store.load();
    if (!r?.pool) return;
    try {
      await this.env.POOLS.getByName(r.pool).forget(r.id);
    } catch (error) {
      // A reservation left behind only assigns a node whose session link then closes with 4010.
      log("warn", "session.member_release_failed", { sessionId: r.id, error: String(error) });
    }
  }

  /** The member serving this session lost its pool link before its session link opened: as a dropped session link. */
  async memberLost(): Promise<void> {
    if (this.hooks.linkOpen()) return; // its session link is open: the pool link no longer matters
    await this.linkLost();
  }

  /** The link dropped without an exit: a stopped task settles the session, a running one may redial. */
  async linkLost(): Promise<void> {
    const r = this.store.load();
    if (!r || isFinal(r.status)) return;
    log("warn", "session.link_lost", { sessionId: r.id, status: r.status });
    const verdict = await judgeLinkLoss(r, () => this.ecs());
    if (verdict.settled)
      return this.finish(verdict.status, `link lost; ${verdict.why}`, {
        stop: verdict.stop,
        failure: { status: 502, message: `The browser node stopped before it was ready: ${verdict.why}`, retry: false },
      });
    const now = this.store.require();
    if (this.hooks.linkOpen() || isFinal(now.status) || now.linkLostAt !== undefined) return; // redialed, or ended, meanwhile
    this.store.update({ linkLostAt: Date.now() });
    await this.scheduleAlarm();
  }

  /** The node's link is open again: the grace ends. */
  async linkOpened(): Promise<void> {
    if (this.store.load()?.linkLostAt === undefined) return;
    this.store.update({ linkLostAt: undefined });
    await this.scheduleAlarm();
  }

  async alarm(): Promise<void> {
    const r = this.store.load();
    if (!r) return;
    const now = Date.now();
    const c = this.config;
    if (r.status === "PENDING" && now >= r.startDeadline) {
      const seconds = Math.round(c.startTimeoutMs / 1000);
      await this.finish("ERROR", `not ready within ${seconds} s`, {
        stop: true,
        failure: { status: 504, message: `The browser did not become ready within ${seconds} seconds`, retry: false },
      });
    } else if (r.status === "RUNNING" && now >= r.expiresAt) {
      await this.finish("TIMED_OUT", "the session's timeout passed", { stop: true });
    } else if (!isFinal(r.status) && now >= linkGraceEnd(r)) {
      if (this.hooks.linkOpen()) await this.linkOpened();
      else
        await this.finish("ERROR", "node lost its link", {
          stop: true,
          failure: { status: 502, message: "The browser node lost its link before it was ready", retry: false },
        });
    } else if (isFinal(r.status)) {
      if (retentionOver(r, c, now)) return this.purge(r);
      await this.stopTaskIfOwed();
      await this.reportToProject();
    }
    if (this.store.load()) await this.scheduleAlarm();
  }

  async scheduleAlarm(): Promise<void> {
    const r = this.store.load();
    if (r) await this.ctx.storage.setAlarm(nextAlarmAt(r, this.config, Date.now()));
  }

  /** Sends ECS the StopTask the session owes, if any; a failure is retried by the alarm. */
  async stopTaskIfOwed(): Promise<void> {
    const r = this.store.load();
    if (!r?.stopOwed || !r.taskArn) return;
    try {
      await this.ecs().stopTask(r.taskArn, `wallcrawler: ${r.endReason ?? "session ended"}`);
      this.store.update({ stopOwed: false });
    } catch (error) {
      const attempt = this.store.require().stopAttempts ?? 0;
      this.store.update({ stopAttempts: attempt + 1 });
      log("warn", "session.stop_failed", { sessionId: r.id, taskArn: r.taskArn, attempt, error: String(error) });
    }
  }

  /** Sends the project's index the session's latest version, unless it has it; a failure is retried by the alarm. */
  async reportToProject(): Promise<void> {
    const r = this.store.load();
    if (!r || (r.indexedVersion ?? 0) >= r.version) return;
    try {
      await this.env.PROJECTS.getByName(r.projectId).indexSession(indexEntry(r));
      const current = this.store.load();
      if (current) this.store.update({ indexedVersion: Math.max(current.indexedVersion ?? 0, r.version) });
    } catch (error) {
      log("warn", "session.index_failed", { sessionId: r.id, error: String(error) });
    }
  }

  /**
   * The session's node can save nothing more (it reported its exit, its task stopped, or it never
   * started): a context it would have saved goes to the next writer at once instead of after the
   * late-write grace. Must come after its final status reached the index (finish's reportToProject).
   */
  async releaseContext(): Promise<void> {
    const r = this.store.load();
    if (!r?.artifacts?.context?.persist) return;
    try {
      await this.env.PROJECTS.getByName(r.projectId).releaseContext(r.id);
    } catch (error) {
      log("warn", "session.context_release_failed", { sessionId: r.id, error: String(error) });
    }
  }

  private wake() {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  /** Past the retention period: the session's blobs, its index entry, then its record and log. */
  private async purge(r: SessionRecord): Promise<void> {
    try {
      await deletePrefix(this.env.BLOBS, blobKey.sessionDir(r.id));
      await this.env.PROJECTS.getByName(r.projectId).retireSession(r.id);
    } catch (error) {
      log("warn", "session.purge_failed", { sessionId: r.id, error: String(error) });
      return this.ctx.storage.setAlarm(Date.now() + RETRY_DELAY_MS);
    }
    await this.ctx.storage.deleteAlarm();
    await this.store.deleteAll();
    log("info", "session.purged", { sessionId: r.id, projectId: r.projectId });
  }
}
