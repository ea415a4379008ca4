/**
 * A pool's MemberStore (edge/pool/member-store.ts) on a real PoolObject's storage: a claim reads
 * the warm members and one index key, not every member the pool remembers; the indexes follow
 * every change of state, are built for a pool kept before they existed, and the claims of the
 * last hour are counted by the minute.
 */
import { runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { MemberStore, type Member } from "../../edge/pool/member-store.ts";
import { env } from "./helpers.ts";

const inPool = <T>(fn: (kv: SyncKvStorage) => T) => runInDurableObject(env.POOLS.getByName(`store-${crypto.randomUUID()}`), (_o, state) => fn(state.storage.kv));
const member = (id: string, o: Partial<Member> = {}): Member => ({ id, state: "warm", since: 1_000, createdAt: 500, taskArn: `arn:task/${id}`, ...o });

it("lists the warm members with a task, longest warm first, and follows their changes of state", async () => {
  await inPool((kv) => {
    const store = new MemberStore(kv);
    store.put(member("b", { since: 3_000 }));
    store.put(member("a", { since: 2_000 }));
    store.put(member("starting", { state: "starting", taskArn: undefined }));
    store.put(member("no-task", { taskArn: undefined }));
    for (let i = 0; i < 20; i++) store.put(member(`old-${i}`, { state: "claimed", sessionId: `s-${i}` }));
    expect(store.warm().map((m) => m.id)).toEqual(["a", "b"]);

    store.put({ ...store.get("a")!, state: "claimed", sessionId: "s-a" });
    store.delete("b");
    store.put({ ...store.get("starting")!, state: "warm", since: 4_000, taskArn: "arn:task/starting" });
    expect(store.warm().map((m) => m.id)).toEqual(["starting"]);
  });
});

it("finds the member of a session through its index, and forgets it with the member", async () => {
  await inPool((kv) => {
    const store = new MemberStore(kv);
    store.put(member("m1", { state: "claimed", sessionId: "s1" }));
    store.put(member("s2", { state: "reserved", sessionId: "s2", taskArn: undefined }));
    expect(store.bySession("s1")?.id).toBe("m1");
    expect(store.bySession("s2")?.id).toBe("s2");
    expect(store.bySession("nobody")).toBeUndefined();
    store.delete("m1");
    expect(store.bySession("s1")).toBeUndefined();
    expect([...kv.list({ prefix: "session:" })].map(([k]) => k)).toEqual(["session:s2"]);
  });
});

it("builds its indexes for a pool kept before them, and counts that pool's listed claims", async () => {
  await inPool((kv) => {
    kv.delete("indexed");
    for (const [k] of kv.list({ prefix: "warm:" })) kv.delete(k);
    const now = Date.now();
    kv.put("member:w", member("w"));
    kv.put("member:c", member("c", { state: "claimed", sessionId: "s-c" }));
    kv.put("claims", [now - 2 * 3_600_000, now - 600_000, now - 1_000]);
    const store = new MemberStore(kv);
    expect(store.warm().map((m) => m.id)).toEqual(["w"]);
    expect(store.bySession("s-c")?.id).toBe("c");
    expect(store.claimsLastHour(now)).toBe(2);
    expect(kv.get("claims")).toBeUndefined();
  });
});

it("counts the claims of the last hour by the minute and lets older minutes go", async () => {
  await inPool((kv) => {
    const store = new MemberStore(kv);
    const now = Date.UTC(2026, 11, 3, 12, 0, 30);
    store.claimed(now - 90 * 60_000);
    store.claimed(now - 30 * 60_000);
    store.claimed(now - 30 * 60_000);
    expect(store.claimsLastHour(now)).toBe(2);
    store.claimed(now);
    expect(store.claimsLastHour(now)).toBe(3);
    expect([...kv.list({ prefix: "claims:" })]).toHaveLength(2); // the minute 90 minutes ago went
    expect(store.claimsLastHour(now + 2 * 3_600_000)).toBe(0);
  });
});
