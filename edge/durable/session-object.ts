/**
 * One SessionObject per session: the single writer of its status (PENDING → RUNNING →
 * COMPLETED | TIMED_OUT | ERROR), the node's address, and the alarms that end it when nobody
 * else does. The create request waits here until the node reports ready or the start deadline
 * passes. Once a session is over, nothing moves it again: late, repeated or stray reports only
 * make sure its task is stopped. Its artifacts (logs, recording, downloads) are SessionArtifacts'.
 */
import { STARTED_BY_PREFIX, type EcsTaskStateChange, type HeartbeatReply, type NodeExit, type NodeReady } from "../node-protocol.ts";
import { ApiError, fail, ok, type Outcome } from "../errors.ts";
import { log } from "../log.ts";
import { jwks, signCdpToken, signingKey, signNodeToken } from "../tokens.ts";
import { AwsError } from "../aws/aws-call.ts";
import type { EcsClient } from "../aws/ecs-client.ts";
import { nextAlarmAt, retentionOver } from "../sessions/alarm-plan.ts";
import { describeStoppedTask, statusForExit, statusForStoppedTask } from "../sessions/endings.ts";
import { nodeEnvironment, type LaunchSettings } from "../sessions/node-env.ts";
import {
  indexEntry,
  isFinal,
  toApiSession,
  toLiveApiSession,
  type ApiSession,
  type ApiSessionWithConnect,
  type IndexEntry,
  type NodeAddress,
  type SessionRecord,
} from "../sessions/session-record.ts";

import { SessionArtifacts } from "./session-artifacts.ts";
import { NOT_FOUND } from "./session-core.ts";

/** The node token outlives expiresAt a little: the node still reports its exit after it. */
const NODE_TOKEN_GRACE_MS = 15 * 60_000;

export class SessionObject extends SessionArtifacts {
  private launching?: Promise<void>;

  // ---- the Worker's calls -------------------------------------------------------------------

  /** Records the admitted session, starts its task and waits until it runs or has ended. */
  async start(record: SessionRecord, launch: LaunchSettings): Promise<Outcome<ApiSessionWithConnect>> {
    if (this.load()) return fail(409, "Session already exists", false);
    this.save(record);
    await this.scheduleAlarm();
    this.launching = this.launch(launch);
    await this.launching;
    let r = this.load()!;
    while (r.status === "PENDING") {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      r = this.load()!;
    }
    if (r.status === "RUNNING") return ok(toLiveApiSession(r, this.config.connectScheme) as ApiSessionWithConnect);
    return {
      ok: false,
      error: this.createFailure ?? { status: 502, message: `The session ended before its browser was ready: ${r.endReason}`, retry: false },
    };
  }

  get(projectId: string): Outcome<ApiSession> {
    const r = this.load();
    if (!r || r.projectId !== projectId) return fail(404, NOT_FOUND);
    return ok(toLiveApiSession(r, this.config.connectScheme));
  }

  async release(projectId: string): Promise<Outcome<ApiSession>> {
    const r = this.load();
    if (!r || r.projectId !== projectId) return fail(404, NOT_FOUND);
    await this.finish("COMPLETED", "released by request", {
      stop: true,
      failure: { status: 409, message: "The session was released before its browser was ready", retry: false },
    });
    return ok(toApiSession(this.load()!));
  }

  /** The create's client went away before it got an answer: nobody will use this browser. */
  async abandon(): Promise<void> {
    await this.finish("ERROR", "the client gave up before the create answered", { stop: true });
  }

  /** Where the debug URLs point, for a running session of `projectId`. */
  liveNode(projectId: string): Outcome<{ node: NodeAddress; expiresAt: number }> {
    const r = this.load();
    if (!r || r.projectId !== projectId) return fail(404, NOT_FOUND);
    if (r.status !== "RUNNING" || !r.node) return fail(409, `Session ${r.id} is not running (status ${r.status})`, false);
    return ok({ node: r.node, expiresAt: r.expiresAt });
  }

  indexEntry(): IndexEntry | undefined {
    const r = this.load();
    return r && indexEntry(r);
  }

  // ---- the node's and ECS's reports ---------------------------------------------------------

  async ready(report: NodeReady): Promise<Outcome<{ status: "RUNNING" }>> {
    let r = this.load();
    if (!r) return fail(404, NOT_FOUND);
    if (r.status === "RUNNING") return ok({ status: "RUNNING" });
    if (isFinal(r.status)) return fail(409, `The session is over (${r.status}); the node should exit`);
    let host = report.host;
    if (!host) {
      await this.launching;
      const taskArn = this.load()?.taskArn;
      if (!taskArn) return fail(409, "The session has no task yet", true);
      try {
        host = await this.ecs().taskHost(taskArn);
      } catch (error) {
        log("warn", "session.node_address_failed", { sessionId: r.id, error: String(error) });
        return fail(503, "The node's address could not be resolved yet", true);
      }
    }
    const token = await signCdpToken(await signingKey(this.env), { sessionId: r.id, projectId: r.projectId, expiresAtMs: r.expiresAt });
    r = this.load()!;
    if (r.status !== "PENDING") return r.status === "RUNNING" ? ok({ status: "RUNNING" }) : fail(409, `The session is over (${r.status})`);
    const now = Date.now();
    this.save({
      ...r,
      status: "RUNNING",
      version: r.version + 1,
      updatedAt: now,
      lastHeartbeatAt: now,
      node: { host, port: report.port, browserVersion: report.browserVersion },
      signingKey: token,
    });
    log("info", "session.running", { sessionId: r.id, projectId: r.projectId, startMs: now - r.createdAt });
    this.wake();
    await this.syncIndex();
    await this.scheduleAlarm();
    return ok({ status: "RUNNING" });
  }

  heartbeat(): HeartbeatReply {
    const r = this.load();
    if (!r || isFinal(r.status)) return { end: true };
    if (r.status === "RUNNING") this.save({ ...r, lastHeartbeatAt: Date.now() });
    return { end: false };
  }

  async exit(report: NodeExit): Promise<Outcome<{ status: string }>> {
    const r = this.load();
    if (!r) return fail(404, NOT_FOUND);
    if (report.proxyBytes !== undefined) await this.recordUsage(report.proxyBytes);
    await this.finish(statusForExit(report.reason), `node exited: ${report.reason}${report.detail ? ` (${report.detail})` : ""}`, {
      stop: true,
      failure: { status: 502, message: `The browser node could not start: ${report.reason}${report.detail ? ` (${report.detail})` : ""}`, retry: false },
    });
    await this.releaseContext(); // the node saves its context before it reports its exit
    return ok({ status: this.load()!.status });
  }

  async taskEvent(detail: EcsTaskStateChange["detail"]): Promise<void> {
    const r = this.load();
    const stopping = detail.lastStatus === "STOPPED" || detail.desiredStatus === "STOPPED";
    if (!r) {
      // A task of ours whose session is gone: nothing may run without a session.
      if (!stopping) await this.stopStray(detail.taskArn);
      return;
    }
    if (r.taskArn && r.taskArn !== detail.taskArn) return;
    if (!r.taskArn) this.save({ ...r, taskArn: detail.taskArn });
    if (detail.lastStatus === "STOPPED") {
      if (!isFinal(r.status))
        return this.finish(statusForStoppedTask(r, detail, Date.now()), describeStoppedTask(detail), {
          stop: false,
          failure: { status: 502, message: `The browser node stopped before it was ready: ${describeStoppedTask(detail)}`, retry: false },
        });
      this.save({ ...this.load()!, stopOwed: false });
      return this.releaseContext();
    }
    if (isFinal(r.status) && !stopping) {
      this.save({ ...this.load()!, stopOwed: true });
      await this.settleStop();
    }
  }

  async alarm(): Promise<void> {
    const r = this.load();
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
    } else if (r.status === "RUNNING" && now >= nextAlarmAt(r, c, now)) {
      await this.checkTask(r, now);
    } else if (isFinal(r.status)) {
      if (retentionOver(r, c, now)) return this.purge(r);
      await this.settleStop();
      await this.syncIndex();
    }
    if (this.load()) await this.scheduleAlarm();
  }

  // ---- internals ----------------------------------------------------------------------------

  private async launch(launch: LaunchSettings): Promise<void> {
    const r = this.load()!;
    let environment: Record<string, string>;
    let ecs: EcsClient;
    try {
      ecs = this.ecs();
      const key = await signingKey(this.env);
      const nodeToken = await signNodeToken(key, { sessionId: r.id, expiresAtMs: r.expiresAt + NODE_TOKEN_GRACE_MS });
      environment = nodeEnvironment(r, launch, { nodeToken, jwks: jwks(key) });
    } catch (error) {
      const failure = error instanceof ApiError ? error.toShape() : { status: 500 as const, message: "Internal error", retry: false };
      return this.finish("ERROR", failure.message, { stop: false, failure });
    }
    try {
      const task = await ecs.runTask({ clientToken: r.id, startedBy: STARTED_BY_PREFIX + r.id, environment });
      const current = this.load()!;
      this.save({ ...current, taskArn: task.taskArn });
      log("info", "session.task_started", { sessionId: r.id, projectId: r.projectId, taskArn: task.taskArn });
      if (current.stopOwed) await this.settleStop(); // the session ended while RunTask was in flight
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A transient failure started nothing, so the client may try again; a lost answer might
      // have started a task (its ECS events will stop it), so that one is not retried.
      const retry = error instanceof AwsError && error.transient && error.code !== "NetworkError";
      await this.finish("ERROR", message, {
        stop: true,
        failure: { status: retry ? 503 : 502, message: `Could not start a browser: ${message}`, retry },
      });
      // No node of this session ever ran (one started despite a lost answer may not save: it no longer holds the context).
      await this.releaseContext();
    }
  }

  private async stopStray(taskArn: string) {
    try {
      await this.ecs().stopTask(taskArn, "wallcrawler: no such session");
    } catch (error) {
      log("warn", "session.stray_stop_failed", { taskArn, error: String(error) });
    }
  }

  private async checkTask(r: SessionRecord, now: number): Promise<void> {
    try {
      const task = r.taskArn ? await this.ecs().describeTask(r.taskArn) : undefined;
      if (r.taskArn && (!task || task.lastStatus === "STOPPED" || task.desiredStatus === "STOPPED")) {
        const why = task ? describeStoppedTask(task) : "ECS no longer knows the task";
        return this.finish(statusForStoppedTask(r, task ?? {}, now), `no heartbeat; ${why}`, { stop: task?.lastStatus !== "STOPPED" });
      }
    } catch (error) {
      log("warn", "session.task_check_failed", { sessionId: r.id, error: String(error) });
    }
    this.save({ ...this.load()!, taskCheckedAt: now });
  }
}
