/**
 * One SessionObject per session. Its public methods are its whole API; each is handed to the part
 * that holds it, and every part is built here with what it needs (no state shared but the store):
 *
 * - SessionStore (session-store.ts): the session's record, read and patched.
 * - SessionLifecycle (session-lifecycle.ts): its status, the create's wait, alarms, its end.
 * - SessionTask (session-task.ts): its node: the pool's claim or RunTask, its address, its task's state changes.
 * - NodeReports (node-reports.ts): the node's `ready` and `exit`.
 * - ArtifactLedger (artifact-ledger.ts): logs, recording, downloads, and the node's access to them.
 * - NodeLink, NodeSockets: the node's link, and the sockets the object answers (its CDP clients
 *   joined to the node's channels, cdp-relay.ts).
 */
import { DurableObject } from "cloudflare:workers";
import type { EcsTaskStateChange, NodeCall } from "../node-protocol.ts";
import type { EdgeEnv } from "../env.ts";
import { fail, ok, type Outcome } from "../errors.ts";
import { useLogLevel } from "../log.ts";
import { endReasonFor } from "../sessions/endings.ts";
import type { LaunchSettings } from "../sessions/node-env.ts";
import type { SessionNodeView } from "../schemas/pool.ts";
import {
  indexEntry,
  newSessionRecord,
  toApiSession,
  toLiveApiSession,
  type ApiSession,
  type ApiSessionWithConnect,
  type IndexEntry,
  type Json,
  type SessionCreate,
} from "../sessions/session-record.ts";
import { ArtifactLedger, type NodeWrite } from "./artifact-ledger.ts";
import { NodeLink } from "./node-link.ts";
import { NodeReports } from "./node-reports.ts";
import { NodeSockets, type ReadyReport } from "./node-sockets.ts";
import { NOT_FOUND, SessionLifecycle } from "./session-lifecycle.ts";
import { SessionStore } from "./session-store.ts";
import { SessionTask } from "./session-task.ts";

type NodeCallOf<Op extends NodeCall["op"]> = Extract<NodeCall, { op: Op }>;

export class SessionObject extends DurableObject<EdgeEnv> {
  private readonly store: SessionStore;
  private readonly link: NodeLink;
  private readonly lifecycle: SessionLifecycle;
  private readonly task: SessionTask;
  private readonly reports: NodeReports;
  private readonly ledger: ArtifactLedger;
  private readonly sockets: NodeSockets;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    useLogLevel(env);
    this.store = new SessionStore(ctx.storage);
    this.link = new NodeLink(ctx);
    this.lifecycle = new SessionLifecycle(this.store, ctx, env, {
      // An end the edge decided is told to the node, which closes the session's clients with its code.
      ended: (status, reason, ending) => {
        if (!ending.fromNode) this.link.send({ t: "end", reason: endReasonFor(status), detail: reason });
        this.link.sessionOver();
      },
      linkOpen: () => this.link.socket() !== undefined,
    });
    this.task = new SessionTask(this.store, env, this.lifecycle);
    this.ledger = new ArtifactLedger(this.store, ctx, env);
    this.reports = new NodeReports(this.store, env, this.lifecycle, this.task, this.ledger);
    this.sockets = new NodeSockets(
      env,
      {
        record: () => this.store.load(),
        ready: (report) => this.reports.ready(report),
        exit: (report) => this.reports.exit(report),
        refuseReady: (message) => this.reports.refused(message),
        linkOpened: () => this.lifecycle.linkOpened(),
        linkLost: () => this.lifecycle.linkLost(),
      },
      this.link,
    );
  }

  // ---- the client's create, reads and release ------------------------------------------------

  /** Records the admitted session, starts its task and waits until it runs or has ended. */
  async start(create: SessionCreate, launch: LaunchSettings): Promise<Outcome<ApiSessionWithConnect>> {
    // Its project indexed it as it admitted it (version 1).
    const record = { ...newSessionRecord(create), connectMode: launch.connectMode, edgeUrl: launch.edgeUrl, indexedVersion: 1 };
    if (!this.store.create(record)) return fail(409, "Session already exists", false);
    await this.lifecycle.scheduleAlarm();
    await this.task.start(launch);
    const r = await this.lifecycle.settled();
    if (r.status === "RUNNING") return ok(toLiveApiSession(r, this.lifecycle.config.connectScheme) as ApiSessionWithConnect);
    return { ok: false, error: this.lifecycle.createFailed(r) };
  }

  /** The admin's view of the session's node: its pool member and task, whatever its project. */
  node(): Outcome<SessionNodeView> {
    const r = this.store.load();
    if (!r) return fail(404, NOT_FOUND);
    return ok({ sessionId: r.id, projectId: r.projectId, status: r.status, pool: r.pool, memberId: r.memberId, taskArn: r.taskArn });
  }

  get(projectId: string): Outcome<ApiSession> {
    const r = this.store.owned(projectId);
    return r ? ok(toLiveApiSession(r, this.lifecycle.config.connectScheme)) : fail(404, NOT_FOUND);
  }

  async release(projectId: string): Promise<Outcome<ApiSession>> {
    if (!this.store.owned(projectId)) return fail(404, NOT_FOUND);
    await this.lifecycle.finish("COMPLETED", "released by request", {
      stop: true,
      failure: { status: 409, message: "The session was released before its browser was ready", retry: false },
    });
    return ok(toApiSession(this.store.require()));
  }

  /** The create's client went away before it got an answer: nobody will use this browser. */
  async abandon(): Promise<Outcome<null>> {
    await this.lifecycle.finish("ERROR", "the client gave up before the create answered", { stop: true });
    return ok(null);
  }

  /** The session's index entry, as its project asks when it doubts its own. */
  indexEntry(): Outcome<IndexEntry> {
    const r = this.store.load();
    return r ? ok(indexEntry(r)) : fail(404, NOT_FOUND);
  }

  // ---- the running session's node, asked on the client's behalf ------------------------------

  /** A running session of `projectId`: until when, and its node's proxy in direct mode. */
  liveNode(projectId: string): Outcome<{ expiresAt: number; direct?: { host: string; port: number } }> {
    const r = this.store.owned(projectId);
    if (!r) return fail(404, NOT_FOUND);
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
  async clientJson(pid: string, path: NodeCallOf<"json">["path"]): Promise<Outcome<Json>> {
    const r = this.store.load();
    if (r && r.projectId !== pid) return fail(401, "signing key is for another project");
    return this.callNode(pid, { op: "json", path }, 10_000);
  }

  /** A DevTools frontend file from the running session's browser (public, like Chromium's own). */
  async frontendFile(path: string): Promise<Outcome<Json>> {
    const r = this.store.load();
    if (r?.status !== "RUNNING") return r ? fail(409, `Session ${r.id} is not running (status ${r.status})`, false) : fail(404, NOT_FOUND);
    return (await this.link.call({ op: "frontend", path }, 10_000)) as Outcome<Json>;
  }

  // ---- artifacts: the client's reads, the node's loads and writes ----------------------------

  logs(projectId: string): Outcome<string[]> {
    return this.ledger.logs(projectId);
  }

  recordingBlobs(projectId: string): Outcome<string[]> {
    return this.ledger.recordingBlobs(projectId);
  }

  downloads(projectId: string): Outcome<{ blob?: string; live: boolean }> {
    return this.ledger.downloads(projectId);
  }

  artifactToLoad(kind: "extension" | "context"): Outcome<{ projectId: string; id: string }> {
    return this.ledger.artifactToLoad(kind);
  }

  nodeMayWrite(kind: NodeWrite): Outcome<{ projectId: string; contextId?: string }> {
    return this.ledger.nodeMayWrite(kind);
  }

  appendLogs(entries: { json: string; bytes: number }[]): Outcome<{ accepted: number; kept: number }> {
    return this.ledger.appendLogs(entries);
  }

  appendRecording(chunk: string, events: number, bytes: number): Promise<Outcome<{ accepted: number; kept: number }>> {
    return this.ledger.appendRecording(chunk, events, bytes);
  }

  commitDownloads(blob: string, bytes: number): Promise<Outcome<{ bytes: number }>> {
    return this.ledger.commitDownloads(blob, bytes);
  }

  /** The node's running `proxyBytes` (a total; its `usage` reports). */
  recordUsage(proxyBytes: number): Promise<Outcome<{ proxyBytes: number }>> {
    return this.reports.usage(proxyBytes);
  }

  // ---- ECS, alarms, and the sockets (the node's link and channels, its CDP clients) ----------

  /** A state change of the session's task (its own `wc-` task, or its pool member's, passed on by the pool). */
  async taskEvent(detail: EcsTaskStateChange["detail"]): Promise<Outcome<null>> {
    await this.task.changed(detail);
    return ok(null);
  }

  /** The pool: the member serving this session said `ready` on its pool link, before its session link opened. */
  async memberReady(report: ReadyReport): Promise<Outcome<null>> {
    await this.sockets.ready(report);
    return ok(null);
  }

  /** The pool: the member assigned to this session lost its pool link before the session link opened. */
  async memberLost(): Promise<Outcome<null>> {
    await this.lifecycle.memberLost();
    return ok(null);
  }

  alarm(): Promise<void> {
    return this.lifecycle.alarm();
  }

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
}
