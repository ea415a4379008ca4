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
/** `warm:<id>`: the members that may be claimed, so a claim reads those and not every member. */
const WARM = "warm:";
/** `session:<sessionId>` → the id of the member serving (or reserved for) that session. */
const SESSION = "session:";
/** Which version of the two indexes above the store keeps (built from the members when missing). */
const INDEXED = "indexed";
const INDEX_VERSION = 1;
const STOP = "stop:";
/** `claims:<minute>` → the claims made in that minute (epoch minutes, zero-padded so they sort). */
const CLAIMS = "claims:";
/** Where a pool kept before the minutes listed its claims (epoch ms); reindex() converts it. */
const LISTED_CLAIMS = "claims";
const SETTINGS = "settings";
const BACKOFF = "backoff";
const HOUR_MS = 3_600_000;
const minuteKey = (ms: number) => CLAIMS + String(Math.floor(ms / 60_000)).padStart(10, "0");

export interface Backoff {
  failures: number;
  until: number;
}

/**
 * Claims and lookups by session read only what they need (the warm members, one index key): a
 * region's pool also remembers every claimed member until its task stops, and every create of the
 * region passes through its claim.
 */
export class MemberStore {
  constructor(private readonly kv: SyncKvStorage) {
    if (kv.get(INDEXED) !== INDEX_VERSION) this.reindex();
  }

  get(id: string): Member | undefined {
    return this.kv.get<Member>(MEMBER + id);
  }

  /** Every member (the alarm's plan, the admin view). */
  all(): Member[] {
    return [...this.kv.list<Member>({ prefix: MEMBER })].map(([, m]) => m);
  }

  /** The warm members with a task, longest warm first: the order a claim takes them in. */
  warm(): Member[] {
    return [...this.kv.list({ prefix: WARM })]
      .map(([key]) => this.get(key.slice(WARM.length)))
      .filter((m): m is Member => m?.state === "warm" && m.taskArn !== undefined)
      .sort((a, b) => a.since - b.since);
  }

  put(member: Member): Member {
    this.kv.put(MEMBER + member.id, member);
    if (member.state === "warm") this.kv.put(WARM + member.id, 1);
    else this.kv.delete(WARM + member.id);
    if (member.sessionId) this.kv.put(SESSION + member.sessionId, member.id);
    return member;
  }

  update(id: string, patch: Partial<Member>): Member | undefined {
    const m = this.get(id);
    return m && this.put({ ...m, ...patch });
  }

  delete(id: string): void {
    const sessionId = this.get(id)?.sessionId;
    if (sessionId && this.kv.get(SESSION + sessionId) === id) this.kv.delete(SESSION + sessionId);
    this.kv.delete(WARM + id);
    this.kv.delete(MEMBER + id);
  }

  /** The member serving (or reserved for) `sessionId`. */
  bySession(sessionId: string): Member | undefined {
    const id = this.kv.get<string>(SESSION + sessionId);
    const m = id === undefined ? undefined : this.get(id);
    return m?.sessionId === sessionId ? m : undefined;
  }

  /** Builds the indexes from the members (a pool kept before they existed); the claims' old list becomes minutes. */
  private reindex(): void {
    for (const prefix of [WARM, SESSION]) for (const [key] of this.kv.list({ prefix })) this.kv.delete(key);
    for (const m of this.all()) this.put(m);
    const listed = this.kv.get<number[]>(LISTED_CLAIMS);
    if (listed) {
      for (const at of listed) this.kv.put(minuteKey(at), (this.kv.get<number>(minuteKey(at)) ?? 0) + 1);
      this.kv.delete(LISTED_CLAIMS);
    }
    this.kv.put(INDEXED, INDEX_VERSION);
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

  /** How many claims were made in the last hour (counted by the minute). */
  claimsLastHour(now: number): number {
    let count = 0;
    for (const [, n] of this.kv.list<number>({ prefix: CLAIMS, start: minuteKey(now - HOUR_MS + 60_000) })) count += n;
    return count;
  }

  /** Counts a claim in its minute; minutes past the hour go. */
  claimed(now: number): void {
    const key = minuteKey(now);
    this.kv.put(key, (this.kv.get<number>(key) ?? 0) + 1);
    for (const [old] of this.kv.list({ prefix: CLAIMS, end: minuteKey(now - HOUR_MS + 60_000) })) this.kv.delete(old);
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
