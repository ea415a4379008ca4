/**
 * One PoolObject per region: the warm pool of browser nodes (docs/pool.md). Its public methods
 * are its whole API; the parts it is built from:
 * - MemberStore (member-store.ts): members, owed StopTasks, claims, settings, backoff;
 * - planRefill (refill-plan.ts): what the alarm does next;
 * - MemberTasks (member-tasks.ts): RunTask and StopTask;
 * - PoolLinks (pool-links.ts): the members' pool links.
 */
import { DurableObject } from "cloudflare:workers";
import { PoolLinkClose, type Assignment, type EcsTaskStateChange } from "../node-protocol.ts";
import type { EdgeEnv } from "../env.ts";
import { ok, type Outcome } from "../errors.ts";
import { log, useLogLevel } from "../log.ts";
import { NodeToPool } from "../schemas/node-messages.ts";
import { closeQuietly } from "../durable/node-link.ts";
import { MemberStore, type Member } from "./member-store.ts";
import { MemberTasks } from "./member-tasks.ts";
import { PoolLinks } from "./pool-links.ts";
import { backoffAfter, nextPoolAlarm, planRefill, REFILL_AFTER_CLAIM_MS } from "./refill-plan.ts";
import type { PoolSettings } from "./pool-settings.ts";

export interface Claim {
  memberId: string;
  /** The warm member's task (absent for a reserved member: its session starts it). */
  taskArn?: string;
  warm: boolean;
}

export interface PoolState {
  region: string;
  size: number;
  warm: number;
  starting: number;
  /** Claims (warm or cold) in the last hour. */
  claimedLastHour: number;
  members: { id: string; state: Member["state"]; since: string; sessionId?: string }[];
}

const MEMBER_LINK = /^\/internal\/pools\/[^/]+\/members\/([^/]+)\/link$/;

export class PoolObject extends DurableObject<EdgeEnv> {
  private readonly members: MemberStore;
  private readonly tasks: MemberTasks;
  private readonly links: PoolLinks;
  private ticking?: Promise<void>;
  /** Something changed while a tick ran (a claim, a loss): it runs once more. */
  private dirty = false;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    useLogLevel(env);
    this.members = new MemberStore(ctx.storage.kv);
    this.tasks = new MemberTasks(env, this.members);
    this.links = new PoolLinks(ctx);
  }

  /** A create's claim: a warm member is assigned at once; without one a member is reserved for the session (its id). */
  async claim(settings: PoolSettings, c: { sessionId: string; assignment: Assignment }): Promise<Outcome<Claim>> {
    this.members.heard(settings);
    const now = Date.now();
    const existing = this.members.bySession(c.sessionId);
    if (existing) return ok({ memberId: existing.id, taskArn: existing.taskArn, warm: existing.id !== c.sessionId });
    for (const m of this.members.warm()) {
      if (!this.links.send(m.id, m.linkId, { t: "assign", assignment: c.assignment })) {
        await this.drop(m, "its pool link was gone at its claim");
        continue;
      }
      this.members.put({ ...m, state: "claimed", since: now, sessionId: c.sessionId });
      this.members.claimed(now);
      log("info", "pool.claimed", { pool: settings.name, memberId: m.id, sessionId: c.sessionId, warmForMs: now - m.since });
      await this.refillSoon(REFILL_AFTER_CLAIM_MS);
      return ok({ memberId: m.id, taskArn: m.taskArn, warm: true });
    }
    this.members.put({ id: c.sessionId, state: "reserved", since: now, createdAt: now, sessionId: c.sessionId, assignment: c.assignment });
    this.members.claimed(now);
    log("info", "pool.reserved", { pool: settings.name, sessionId: c.sessionId });
    await this.refillSoon();
    return ok({ memberId: c.sessionId, warm: false });
  }

  /** The session ended before its member linked: its reservation (or claim) goes. Its task is the session's to stop. */
  forget(sessionId: string): Outcome<null> {
    const m = this.members.bySession(sessionId);
    if (!m || m.handedOver) return ok(null);
    this.members.delete(m.id);
    this.links.close(m.id, PoolLinkClose.retired);
    return ok(null);
  }

  /** The cron's (or the local platform's) wake-up: refill now. */
  async wake(settings: PoolSettings): Promise<Outcome<null>> {
    this.members.heard(settings);
    await this.tick();
    return ok(null);
  }

  /** An ECS event of a task started as `wp-<memberId>`. */
  async taskEvent(settings: PoolSettings, memberId: string, detail: EcsTaskStateChange["detail"]): Promise<Outcome<{ sessionId?: string }>> {
    this.members.heard(settings);
    const m = this.members.get(memberId);
    const stopped = detail.lastStatus === "STOPPED";
    const stopping = stopped || detail.desiredStatus === "STOPPED";
    if (!m) {
      // A task of the pool that it does not know (forgotten, or started by a RunTask whose answer was lost).
      if (!stopping) await this.tasks.stop(detail.taskArn, "unknown pool member");
      else if (stopped) this.members.stopDone(detail.taskArn);
      return ok({});
    }
    if (m.taskArn && m.taskArn !== detail.taskArn) return ok({});
    if (m.state === "claimed" && m.sessionId) {
      await this.env.SESSIONS.getByName(m.sessionId).taskEvent(detail);
      if (stopped) this.members.delete(m.id);
      return ok({ sessionId: m.sessionId });
    }
    if (!m.taskArn) this.members.update(m.id, { taskArn: detail.taskArn });
    if (stopping) {
      log("info", "pool.member_stopped", { memberId: m.id, state: m.state, lastStatus: detail.lastStatus, stoppedReason: detail.stoppedReason });
      // A member that stops before it was ever warm (a bad image or configuration) must not be
      // replaced in a tight loop: it counts as a failed start for the refill's backoff.
      if (m.state === "starting") {
        const failures = this.members.backoff().failures + 1;
        this.members.setBackoff({ failures, until: Date.now() + backoffAfter(failures) });
      }
      await this.drop({ ...m, taskArn: detail.taskArn }, "its task stopped", !stopped);
      if (stopped) this.members.stopDone(detail.taskArn);
    }
    return ok({});
  }

  /** What `GET /admin/pools` shows: no tokens, no assignments. */
  state(settings: PoolSettings): Outcome<PoolState> {
    const members = this.members.all();
    const count = (state: Member["state"]) => members.filter((m) => m.state === state).length;
    return ok({
      region: settings.name,
      size: settings.size,
      warm: count("warm"),
      starting: count("starting"),
      claimedLastHour: this.members.claimsLastHour(Date.now()),
      members: members.sort((a, b) => a.createdAt - b.createdAt).map((m) => ({ id: m.id, state: m.state, since: new Date(m.since).toISOString(), ...(m.sessionId ? { sessionId: m.sessionId } : {}) })),
    });
  }

  // ---- the members' pool links (the Worker checked the bootstrap token) --------------------

  async fetch(request: Request): Promise<Response> {
    const memberId = MEMBER_LINK.exec(new URL(request.url).pathname)?.[1];
    if (!memberId) return Response.json({ message: "Not found" }, { status: 404 });
    const [node, server] = Object.values(new WebSocketPair());
    const m = this.members.get(memberId);
    const linkId = this.links.open(memberId, server);
    if (!m || m.state === "claimed") {
      // Unknown or forgotten, or assigned already (a node never redials after `assign`).
      closeQuietly(server, PoolLinkClose.retired.code, PoolLinkClose.retired.reason);
      return new Response(null, { status: 101, webSocket: node });
    }
    this.members.put({ ...m, linkId });
    if (m.state === "reserved" && m.assignment) {
      this.links.send(memberId, linkId, { t: "assign", assignment: m.assignment });
      this.members.put({ ...m, linkId, state: "claimed", since: Date.now(), assignment: undefined });
      log("info", "pool.assigned_reserved", { memberId });
    }
    return new Response(null, { status: 101, webSocket: node });
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const m = this.current(ws);
    if (!m) return;
    let parsed: unknown;
    try {
      parsed = typeof message === "string" ? JSON.parse(message) : undefined;
    } catch {
      parsed = undefined;
    }
    const said = NodeToPool.safeParse(parsed);
    if (!said.success) return log("warn", "pool.link_bad_message", { memberId: m.id });
    if (said.data.t === "ready") {
      // The session's `ready`, ahead of its session link (docs/pool.md): its session takes it.
      if (m.state !== "claimed" || !m.sessionId) return log("warn", "pool.ready_unclaimed", { memberId: m.id, state: m.state });
      const { t: _, ...report } = said.data;
      await this.env.SESSIONS.getByName(m.sessionId)
        .memberReady(report)
        .catch((error: unknown) => log("warn", "pool.ready_not_passed", { memberId: m.id, sessionId: m.sessionId, error: String(error) }));
      return;
    }
    if (m.state === "starting") {
      this.members.put({ ...m, state: "warm", since: Date.now(), browserVersion: said.data.browserVersion });
      log("info", "pool.member_warm", { memberId: m.id, startMs: Date.now() - m.createdAt });
      this.members.setBackoff({ failures: 0, until: 0 });
    } else this.members.put({ ...m, browserVersion: said.data.browserVersion });
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const m = this.current(ws);
    closeQuietly(ws, code, reason); // completes the closing handshake
    if (!m) return;
    if (m.state === "claimed") {
      if (m.handedOver) return;
      if (code === PoolLinkClose.assigned.code) return void this.members.put({ ...m, handedOver: true, linkId: undefined });
      // Lost between its assignment and its session link: the session settles as for a dropped session link.
      this.members.put({ ...m, linkId: undefined });
      log("warn", "pool.claimed_member_lost", { memberId: m.id, sessionId: m.sessionId, code });
      if (m.sessionId) await this.env.SESSIONS.getByName(m.sessionId).memberLost();
      return;
    }
    if (m.state === "reserved") return void this.members.put({ ...m, linkId: undefined });
    await this.drop(m, `its pool link dropped (${code})`);
  }

  webSocketError(ws: WebSocket): Promise<void> {
    return this.webSocketClose(ws, 1006, "error");
  }

  alarm(): Promise<void> {
    return this.tick();
  }

  // ---- refill ----------------------------------------------------------------------------------

  /** The member `ws` is the current link of. */
  private current(ws: WebSocket): Member | undefined {
    const a = this.links.attachment(ws);
    const m = a && this.members.get(a.memberId);
    return m && m.linkId === a.linkId ? m : undefined;
  }

  /** Forgets a member that never served a session and stops its task; the pool refills behind it. */
  private async drop(m: Member, why: string, stop = true): Promise<void> {
    this.members.delete(m.id);
    this.links.close(m.id, PoolLinkClose.retired);
    log("info", "pool.member_forgotten", { memberId: m.id, state: m.state, why });
    if (stop) await this.tasks.stop(m.taskArn, `pool member forgotten: ${why}`);
    await this.refillSoon();
  }

  /** The alarm runs a pass in `delayMs` (a pass under way runs once more, now); an earlier alarm stays. */
  private async refillSoon(delayMs = 0): Promise<void> {
    if (this.ticking) return void (this.dirty = true);
    const at = Date.now() + delayMs;
    const set = delayMs > 0 ? await this.ctx.storage.getAlarm() : null;
    if (set === null || set > at) await this.ctx.storage.setAlarm(at);
  }

  /** One pass of the alarm, never two at once; one more when something changed meanwhile. */
  private tick(): Promise<void> {
    this.dirty = true;
    return (this.ticking ??= (async () => {
      try {
        while (this.dirty) {
          this.dirty = false;
          await this.pass();
        }
      } finally {
        this.ticking = undefined;
      }
    })());
  }

  private async pass(): Promise<void> {
    const s = this.members.settings();
    if (!s) return;
    const now = Date.now();
    const plan = planRefill(this.members.all(), s, now, this.members.backoff().until);
    for (const m of plan.expired) {
      this.members.delete(m.id);
      this.links.close(m.id, PoolLinkClose.retired);
      log("warn", "pool.member_start_timed_out", { memberId: m.id });
      if (m.taskArn) this.members.oweStop(m.taskArn, "pool member not warm in time");
    }
    for (const m of plan.retire) {
      this.members.delete(m.id);
      this.links.close(m.id, PoolLinkClose.retired);
      log("info", "pool.member_retired", { memberId: m.id, warmForMs: now - m.since });
      if (m.taskArn) this.members.oweStop(m.taskArn, "pool member retired");
    }
    for (const m of [...plan.abandoned, ...plan.forgotten]) this.members.delete(m.id);
    await this.tasks.payStops();
    for (let i = 0; i < plan.start && s.edgeUrl; i++) {
      if (await this.tasks.start({ ...s, edgeUrl: s.edgeUrl })) {
        continue; // the backoff's count is reset by a member that gets warm, not by a RunTask that answers
      }
      const failures = this.members.backoff().failures + 1;
      this.members.setBackoff({ failures, until: Date.now() + backoffAfter(failures) });
      break;
    }
    if (!s.edgeUrl && s.size > 0) log("warn", "pool.no_edge_url", { pool: s.name, why: "EDGE_PUBLIC_URL is unset and no request has named the edge yet" });
    const next = nextPoolAlarm(this.members.all(), s, Date.now(), this.members.owedStops().length > 0, this.members.backoff().until);
    if (next === undefined) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }
}
