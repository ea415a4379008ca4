/**
 * A pool's members as its PoolObject keeps them (Durable Object storage, so they survive
 * hibernation and restarts), the StopTasks it still owes, its claims of the last hour, the
 * settings it last heard and its RunTask backoff. Plain records; the PoolObject decides.
 */
import type { Assignment } from "../node-protocol.ts";
import type { PoolSettings } from "./pool-settings.ts";

/**
 * - starting: RunTask sent (or about to be), no `warm` yet;
 * - warm: its pool link is open and it sent `warm`: it may be claimed;
 * - reserved: started for one session (the cold path), not linked yet; its assignment waits here;
 * - claimed: assigned to a session; kept (without its assignment) so its task's events still reach that session.
 */
export type MemberState = "starting" | "warm" | "reserved" | "claimed";

export interface Member {
  id: string;
  state: MemberState;
  /** When it entered its state (epoch ms). */
  since: number;
  createdAt: number;
  taskArn?: string;
  /** The session it serves (claimed, reserved). */
  sessionId?: string;
  /** A reserved member's assignment, sent when its link opens (then dropped: it holds the session's link token). */
  assignment?: Assignment;
  /** A claimed member's node closed its pool link with 1000 `assigned`: its session link is open. */
  handedOver?: boolean;
  /** The id of its current pool link (the socket's attachment has the same). */
  linkId?: string;
  browserVersion?: string;
}

export interface OwedStop {
  taskArn: string;
  reason: string;
  attempts: number;
}

const MEMBER = "member:";
const STOP = "stop:";
const CLAIMS = "claims";
const SETTINGS = "settings";
const BACKOFF = "backoff";

export interface Backoff {
  failures: number;
  until: number;
}

export class MemberStore {
  constructor(private readonly kv: SyncKvStorage) {}

  get(id: string): Member | undefined {
    return this.kv.get<Member>(MEMBER + id);
  }

  all(): Member[] {
    return [...this.kv.list<Member>({ prefix: MEMBER })].map(([, m]) => m);
  }

  put(member: Member): Member {
    this.kv.put(MEMBER + member.id, member);
    return member;
  }

  update(id: string, patch: Partial<Member>): Member | undefined {
    const m = this.get(id);
    return m && this.put({ ...m, ...patch });
  }

  delete(id: string): void {
    this.kv.delete(MEMBER + id);
  }

  /** The member serving (or reserved for) `sessionId`. */
  bySession(sessionId: string): Member | undefined {
    return this.all().find((m) => m.sessionId === sessionId);
  }

  oweStop(taskArn: string, reason: string): void {
    if (!this.kv.get(STOP + taskArn)) this.kv.put(STOP + taskArn, { taskArn, reason, attempts: 0 } satisfies OwedStop);
  }

  owedStops(): OwedStop[] {
    return [...this.kv.list<OwedStop>({ prefix: STOP })].map(([, s]) => s);
  }

  stopDone(taskArn: string): void {
    this.kv.delete(STOP + taskArn);
  }

  stopFailed(stop: OwedStop): void {
    this.kv.put(STOP + stop.taskArn, { ...stop, attempts: stop.attempts + 1 });
  }

  /** Claims in the last hour (epoch ms), oldest first. */
  claims(now: number): number[] {
    return (this.kv.get<number[]>(CLAIMS) ?? []).filter((at) => at > now - 3_600_000);
  }

  claimed(now: number): void {
    this.kv.put(CLAIMS, [...this.claims(now), now]);
  }

  settings(): PoolSettings | undefined {
    return this.kv.get<PoolSettings>(SETTINGS);
  }

  /** Keeps the latest settings; an edge URL once known is kept when a caller (the cron) has none. */
  heard(settings: PoolSettings): PoolSettings {
    const edgeUrl = settings.edgeUrl ?? this.settings()?.edgeUrl;
    const kept = { ...settings, edgeUrl };
    this.kv.put(SETTINGS, kept);
    return kept;
  }

  backoff(): Backoff {
    return this.kv.get<Backoff>(BACKOFF) ?? { failures: 0, until: 0 };
  }

  setBackoff(b: Backoff): void {
    this.kv.put(BACKOFF, b);
  }
}
