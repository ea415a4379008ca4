/**
 * One SessionObject per session: the single writer of its status (PENDING → RUNNING →
 * COMPLETED | TIMED_OUT | ERROR), the end of its node's link, the relay of its CDP clients, and
 * the alarms that end it when nobody else does. The create request waits here until the node
 * reports ready or the start deadline passes. Once a session is over, nothing moves it again:
 * late, repeated or stray reports only make sure its task is stopped. Its artifacts (logs,
 * recording, downloads) are SessionArtifacts'; the link and the relay are their own modules.
 */
import { STARTED_BY_PREFIX, type EcsTaskStateChange, type NodeCall, type NodeExit } from "../node-protocol.ts";
import { ApiError, fail, ok, type Outcome } from "../errors.ts";
import { log } from "../log.ts";
import { jwks, nodeTokenExpiry, signCdpToken, signingKey, signLinkToken } from "../tokens.ts";
import { AwsError } from "../aws/aws-call.ts";
import type { EcsClient } from "../aws/ecs-client.ts";
import { linkGraceEnd, retentionOver } from "../sessions/alarm-plan.ts";
import { closeForExit, closeForStatus, describeStoppedTask, endReasonFor, statusForExit, statusForStoppedTask } from "../sessions/endings.ts";
import { judgeLinkLoss } from "./link-loss.ts";
import { nodeEnvironment, type LaunchSettings } from "../sessions/node-env.ts";
import {
  indexEntry,
  isFinal,
  toApiSession,
  toLiveApiSession,
  type ApiSession,
  type ApiSessionWithConnect,
  type FinalStatus,
  type IndexEntry,
  type Json,
  type NodeAddress,
  type SessionRecord,
} from "../sessions/session-record.ts";
import { SessionArtifacts } from "./session-artifacts.ts";
import { NOT_FOUND, type Ending } from "./session-core.ts";
import { NodeLink } from "./node-link.ts";
import { CdpRelay } from "./cdp-relay.ts";
import { NodeSockets, type ReadyReport } from "./node-sockets.ts";

export class SessionObject extends SessionArtifacts {
  private launching?: Promise<void>;
  private readonly link = new NodeLink(this.ctx);
  private readonly relay = new CdpRelay();
  private readonly sockets = new NodeSockets(
    this.env,
    {
      record: () => this.load(),
      ready: (report) => this.ready(report),
      exit: (report) => this.exit(report),
      refuseReady: (message) =>
        this.finish("ERROR", `ready refused: ${message}`, {
          stop: true,
          failure: { status: 502, message: `The browser node could not start: ${message}`, retry: false },
        }),
      linkOpened: () => this.linkOpened(),
      linkLost: () => this.linkLost(),
    },
    this.link,
    this.relay,
  );

  // ---- the Worker's calls -------------------------------------------------------------------

  /** Records the admitted session, starts its task and waits until it runs or has ended. */
  async start(record: SessionRecord, launch: LaunchSettings): Promise<Outcome<ApiSessionWithConnect>> {
    if (this.load()) return fail(409, "Session already exists", false);
    this.save({ ...record, connectMode: launch.connectMode, edgeUrl: launch.edgeUrl });
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

  /** A running session of `projectId`: until when, and its node's proxy in direct mode. */
  liveNode(projectId: string): Outcome<{ expiresAt: number; direct?: { host: string; port: number } }> {
    const r = this.load();
    if (!r || r.projectId !== projectId) return fail(404, NOT_FOUND);
    if (r.status !== "RUNNING" || !r.node) return fail(409, `Session ${r.id} is not running (status ${r.status})`, false);
    const { host, port } = r.node;
    return ok({ expiresAt: r.expiresAt, direct: r.connectMode !== "edge" && host && port ? { host, port } : undefined });
  }

  /** Asks the running session's node (debug URLs, an upload, a downloads flush, `/json/*`). */
  async callNode(projectId: string, call: Exclude<NodeCall, { op: "open" | "frontend" }>, timeoutMs: number): Promise<Outcome<Json>> {
    const live = this.liveNode(projectId);
    if (!live.ok) return live;
    return (await this.link.call(call, timeoutMs)) as Outcome<Json>; // the reply's value is JSON: it came as JSON
  }

  /** Chromium's `/json/*` for a CDP client whose token (of project `pid`) the Worker verified. */
  async clientJson(pid: string, path: Extract<NodeCall, { op: "json" }>["path"]): Promise<Outcome<Json>> {
    const r = this.load();
    if (r && r.projectId !== pid) return fail(401, "signing key is for another project");
    return this.callNode(pid, { op: "json", path }, 10_000);
  }

  /** A DevTools frontend file from the running session's browser (public, like Chromium's own). */
  async frontendFile(path: string): Promise<Outcome<Json>> {
    const r = this.load();
    if (r?.status !== "RUNNING") return r ? fail(409, `Session ${r.id} is not running (status ${r.status})`, false) : fail(404, NOT_FOUND);
    return (await this.link.call({ op: "frontend", path }, 10_000)) as Outcome<Json>;
  }

  /** The session's index entry, as its project asks when it doubts its own. */
  indexEntry(): Outcome<IndexEntry> {
    const r = this.load();
    return r ? ok(indexEntry(r)) : fail(404, NOT_FOUND);
  }

  // ---- the node's sockets (link, channels) and its clients' ---------------------------------

  fetch(request: Request): Promise<Response> {
    return this.sockets.fetch(request);
  }

  webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    return this.sockets.message(ws, message);
  }

  webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    return this.sockets.closed(ws, code, reason);
  }

  webSocketError(ws: WebSocket): Promise<void> {
    return this.sockets.closed(ws, 1006, "error");
  }

  // ---- the node's and ECS's reports ---------------------------------------------------------

  /** The node's `ready`. In direct mode it names its proxy's port, and its host when it knows it. */
  private async ready(report: ReadyReport): Promise<Outcome<{ status: "RUNNING" }>> {
    let r = this.load();
    if (!r) return fail(404, NOT_FOUND);
    if (r.status === "RUNNING") return ok({ status: "RUNNING" });
    if (isFinal(r.status)) return fail(409, `The session is over (${r.status}); the node should exit`);
    const node: NodeAddress = { browserVersion: report.browserVersion };
    if (r.connectMode !== "edge") {
      if (!report.direct) return fail(400, "ready: CONNECT_MODE is direct, but the node named no address (direct.port)");
      node.port = report.direct.port;
      node.host = report.direct.host ?? (await this.taskHost(r.id));
      if (!node.host) return fail(503, "The node's address could not be resolved yet", true);
    }
    const token = await signCdpToken(await signingKey(this.env), { sessionId: r.id, projectId: r.projectId, expiresAtMs: r.expiresAt });
    r = this.load()!;
    if (r.status !== "PENDING") return r.status === "RUNNING" ? ok({ status: "RUNNING" }) : fail(409, `The session is over (${r.status})`);
    const now = Date.now();
    this.save({ ...r, status: "RUNNING", version: r.version + 1, updatedAt: now, node, signingKey: token });
    log("info", "session.running", { sessionId: r.id, projectId: r.projectId, startMs: now - r.createdAt });
    this.wake();
    await this.syncIndex();
    await this.scheduleAlarm();
    return ok({ status: "RUNNING" });
  }

  private async exit(report: NodeExit): Promise<Outcome<{ status: string }>> {
    const r = this.load();
    if (!r) return fail(404, NOT_FOUND);
    await this.finish(statusForExit(report.reason), `node exited: ${report.reason}${report.detail ? ` (${report.detail})` : ""}`, {
      stop: true,
      failure: { status: 502, message: `The browser node could not start: ${report.reason}${report.detail ? ` (${report.detail})` : ""}`, retry: false },
      close: closeForExit(report.reason),
      fromNode: true,
    });
    await this.releaseContext(); // the node saves its context before it reports its exit
    return ok({ status: this.load()!.status });
  }

  /** The link dropped without an exit: a stopped task settles the session, a running one may redial. */
  private async linkLost(): Promise<void> {
    const r = this.load();
    if (!r || isFinal(r.status)) return;
    log("warn", "session.link_lost", { sessionId: r.id, status: r.status });
    const verdict = await judgeLinkLoss(r, () => this.ecs());
    if (verdict.settled)
      return this.finish(verdict.status, `link lost; ${verdict.why}`, {
        stop: verdict.stop,
        failure: { status: 502, message: `The browser node stopped before it was ready: ${verdict.why}`, retry: false },
        close: this.taskStopClose(r),
      });
    const now = this.load()!;
    if (this.link.socket() || isFinal(now.status) || now.linkLostAt !== undefined) return; // redialed, or ended, meanwhile
    this.save({ ...now, linkLostAt: Date.now() });
    await this.scheduleAlarm();
  }

  /** The node's link is open again: the grace ends. */
  private async linkOpened(): Promise<void> {
    const r = this.load();
    if (r?.linkLostAt === undefined) return;
    const { linkLostAt: _reopened, ...rest } = r;
    this.save(rest);
    await this.scheduleAlarm();
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
          close: this.taskStopClose(r),
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
    } else if (!isFinal(r.status) && now >= linkGraceEnd(r)) {
      if (this.link.socket()) await this.linkOpened();
      else
        await this.finish("ERROR", "node lost its link", {
          stop: true,
          failure: { status: 502, message: "The browser node lost its link before it was ready", retry: false },
        });
    } else if (isFinal(r.status)) {
      if (retentionOver(r, c, now)) return this.purge(r);
      await this.settleStop();
      await this.syncIndex();
    }
    if (this.load()) await this.scheduleAlarm();
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Every end closes the session's clients; one the edge decided is also told to the node. */
  protected override ended(status: FinalStatus, reason: string, ending: Ending): void {
    this.relay.closeAll(ending.close ?? closeForStatus(status));
    if (!ending.fromNode) this.link.send({ t: "end", reason: endReasonFor(status), detail: reason });
  }

  /** What a client sees when the task stops under its session. */
  private taskStopClose(r: SessionRecord) {
    return closeForStatus(Date.now() >= r.expiresAt ? "TIMED_OUT" : "ERROR");
  }

  /** The task's address in direct mode, when the node cannot tell (AWS); undefined while unknown. */
  private async taskHost(sessionId: string): Promise<string | undefined> {
    await this.launching;
    const taskArn = this.load()?.taskArn;
    if (!taskArn) return undefined;
    try {
      return await this.ecs().taskHost(taskArn);
    } catch (error) {
      log("warn", "session.node_address_failed", { sessionId, error: String(error) });
      return undefined;
    }
  }

  private async launch(launch: LaunchSettings): Promise<void> {
    const r = this.load()!;
    let environment: Record<string, string>;
    let ecs: EcsClient;
    try {
      ecs = this.ecs();
      const key = await signingKey(this.env);
      const linkToken = await signLinkToken(key, { sessionId: r.id, expiresAtMs: nodeTokenExpiry(r.expiresAt) });
      environment = nodeEnvironment(r, launch, { linkToken, jwks: jwks(key) });
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
}
