/**
 * A session's ECS task: claiming its node from the region's pool (docs/pool.md) and, when no
 * member is warm, starting one reserved for it (RunTask); its address when the node cannot tell
 * it; what its state changes (EventBridge) mean for the session; and stopping a task whose
 * session is gone. Stopping the session's own task is the lifecycle's (a StopTask owed by its end).
 */
import { STARTED_BY_PREFIX, type Assignment, type EcsTaskStateChange } from "../node-protocol.ts";
import type { EdgeEnv } from "../env.ts";
import { ApiError, type ErrorShape } from "../errors.ts";
import { log } from "../log.ts";
import { jwks, nodeTokenExpiry, signingKey, signLinkToken, signPoolLinkToken } from "../tokens.ts";
import { AwsError } from "../aws/aws-call.ts";
import { describeStoppedTask, statusForStoppedTask } from "../sessions/endings.ts";
import { assignmentFor, memberEnvironment, type LaunchSettings } from "../sessions/node-env.ts";
import { isFinal } from "../sessions/session-record.ts";
import { bootstrapTokenExpiry } from "../pool/pool-settings.ts";
import type { SessionLifecycle } from "./session-lifecycle.ts";
import type { SessionStore } from "./session-store.ts";

const internalError = (error: unknown): ErrorShape =>
  error instanceof ApiError ? error.toShape() : { status: 500, message: "Internal error", retry: false };

export class SessionTask {
  /** The claim and RunTask in flight, which a direct-mode `ready` waits for to learn the task's address. */
  private launching?: Promise<void>;

  constructor(
    private readonly store: SessionStore,
    private readonly env: EdgeEnv,
    private readonly lifecycle: SessionLifecycle,
  ) {}

  /** Claims the session's node (or starts one); a failure ends the session with the create's answer. */
  start(launch: LaunchSettings): Promise<void> {
    return (this.launching = this.launch(launch));
  }

  /** The task's address in direct mode, when the node cannot tell (AWS); undefined while unknown. */
  async host(): Promise<string | undefined> {
    await this.launching;
    const r = this.store.load();
    if (!r?.taskArn) return undefined;
    try {
      return await this.lifecycle.ecs().taskHost(r.taskArn);
    } catch (error) {
      log("warn", "session.node_address_failed", { sessionId: r.id, error: String(error) });
      return undefined;
    }
  }

  /** A state change of a task started for this session, or of the pool member that serves it (or of one whose session is gone). */
  async changed(detail: EcsTaskStateChange["detail"]): Promise<void> {
    const r = this.store.load();
    const stopping = detail.lastStatus === "STOPPED" || detail.desiredStatus === "STOPPED";
    if (!r) {
      // A task of ours whose session is gone: nothing may run without a session.
      if (!stopping) await this.stopStray(detail.taskArn);
      return;
    }
    if (r.taskArn && r.taskArn !== detail.taskArn) return;
    if (!r.taskArn) this.store.update({ taskArn: detail.taskArn });
    if (detail.lastStatus === "STOPPED") {
      if (!isFinal(r.status))
        return this.lifecycle.finish(statusForStoppedTask(r, detail, Date.now()), describeStoppedTask(detail), {
          stop: false,
          failure: { status: 502, message: `The browser node stopped before it was ready: ${describeStoppedTask(detail)}`, retry: false },
        });
      this.store.update({ stopOwed: false });
      return this.lifecycle.releaseContext();
    }
    if (isFinal(r.status) && !stopping) {
      this.store.update({ stopOwed: true });
      await this.lifecycle.stopTaskIfOwed();
    }
  }

  private async launch(launch: LaunchSettings): Promise<void> {
    const r = this.store.require();
    let assignment: Assignment;
    try {
      const key = await signingKey(this.env);
      const linkToken = await signLinkToken(key, { sessionId: r.id, expiresAtMs: nodeTokenExpiry(r.expiresAt) });
      assignment = assignmentFor(r, launch, { linkToken, jwks: jwks(key) as Assignment["jwks"] });
    } catch (error) {
      const failure = internalError(error);
      return this.lifecycle.finish("ERROR", failure.message, { stop: false, failure });
    }
    this.store.update({ pool: launch.pool.name });
    let claim;
    try {
      claim = await this.env.POOLS.getByName(launch.pool.name).claim(launch.pool, { sessionId: r.id, assignment });
    } catch (error) {
      log("warn", "session.claim_failed", { sessionId: r.id, error: String(error) });
      claim = { ok: false as const, error: { status: 503 as const, message: "The warm pool did not answer", retry: true } };
    }
    if (!claim.ok) return this.lifecycle.finish("ERROR", claim.error.message, { stop: false, failure: claim.error });
    const { memberId, taskArn, warm } = claim.value;
    if (warm) {
      const current = this.store.update({ memberId, taskArn });
      log("info", "session.member_claimed", { sessionId: r.id, projectId: r.projectId, memberId, taskArn });
      if (current.stopOwed) await this.lifecycle.stopTaskIfOwed(); // the session ended while the claim was in flight
      return;
    }
    this.store.update({ memberId });
    await this.runReserved(launch);
  }

  /** The cold path: a member reserved for this session, started by it (clientToken = the session id). */
  private async runReserved(launch: LaunchSettings): Promise<void> {
    const r = this.store.require();
    let environment: Record<string, string>;
    let ecs;
    try {
      ecs = this.lifecycle.ecs();
      const key = await signingKey(this.env);
      const bootstrapToken = await signPoolLinkToken(key, { pool: launch.pool.name, memberId: r.id, expiresAtMs: bootstrapTokenExpiry(Date.now(), launch.pool) });
      environment = memberEnvironment({ edgeUrl: launch.edgeUrl, pool: launch.pool.name, memberId: r.id, bootstrapToken, reserved: true });
    } catch (error) {
      const failure = internalError(error);
      return this.lifecycle.finish("ERROR", failure.message, { stop: false, failure });
    }
    try {
      const task = await ecs.runTask({ clientToken: r.id, startedBy: STARTED_BY_PREFIX + r.id, environment });
      const current = this.store.update({ taskArn: task.taskArn });
      log("info", "session.task_started", { sessionId: r.id, projectId: r.projectId, taskArn: task.taskArn });
      if (current.stopOwed) await this.lifecycle.stopTaskIfOwed(); // the session ended while RunTask was in flight
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A transient failure started nothing, so the client may try again; a lost answer might
      // have started a task (its ECS events will stop it), so that one is not retried.
      const retry = error instanceof AwsError && error.transient && error.code !== "NetworkError";
      await this.lifecycle.finish("ERROR", message, {
        stop: true,
        failure: { status: retry ? 503 : 502, message: `Could not start a browser: ${message}`, retry },
      });
      // No node of this session ever ran (one started despite a lost answer may not save: it no longer holds the context).
      await this.lifecycle.releaseContext();
    }
  }

  private async stopStray(taskArn: string) {
    try {
      await this.lifecycle.ecs().stopTask(taskArn, "wallcrawler: no such session");
    } catch (error) {
      log("warn", "session.stray_stop_failed", { taskArn, error: String(error) });
    }
  }
}
