/**
 * The warm pool on the whole platform (docs/pool.md): real workerd, the stand-in running real
 * browser nodes, the SDK. Creates from a warm pool and from an empty one, a member killed while
 * warm is replaced, the pool refills after a burst, and with Fargate-like start delays a warm
 * create still answers while the pool refills behind it. Behaviour, not timings.
 */
import Browserbase from "@browserbasehq/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeEnv } from "../../edge/node-protocol.ts";
import type { LocalPlatform } from "../../browser-node/local/platform.ts";
import { memberProcesses } from "../../browser-node/local/processes.ts";
import { startPlatform } from "./helpers.ts";

interface PoolView {
  region: string;
  size: number;
  warm: number;
  starting: number;
  claimedLastHour: number;
  members: { id: string; state: string; since: string; sessionId?: string }[];
}

const poolOf = async (platform: LocalPlatform): Promise<PoolView> => {
  const res = await fetch(`${platform.edgeUrl}/admin/pools`, { headers: { authorization: `Bearer ${platform.secrets.ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as PoolView[])[0];
};
const warmCount = async (platform: LocalPlatform) => (await poolOf(platform)).warm;
/** Task starts (RunTask calls that started a task) with a startedBy prefix. */
const runTasks = (platform: LocalPlatform, prefix: "wp-" | "wc-") =>
  platform.standIn.calls.filter((c) => c.action === "RunTask" && c.status === 200 && String((c.body as any)?.startedBy).startsWith(prefix));

describe("a warm pool of 2", () => {
  let platform: LocalPlatform;
  let bb: Browserbase;
  beforeAll(async () => {
    platform = await startPlatform({ warmPoolSize: 2 });
    bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl });
  });
  afterAll(() => platform?.stop());

  it("creates from a warm member: no RunTask for the session, the member serves it, the pool refills", async () => {
    await expect.poll(() => warmCount(platform), { timeout: 60_000 }).toBe(2);
    const before = runTasks(platform, "wp-").length;
    const session = await bb.sessions.create({ projectId: platform.projectId });
    expect(session.status).toBe("RUNNING");
    expect(runTasks(platform, "wc-").some((c) => c.clientToken === session.id)).toBe(false);
    const member = (await poolOf(platform)).members.find((m) => m.sessionId === session.id);
    expect(member?.state).toBe("claimed");
    expect(memberProcesses(member!.id).length).toBeGreaterThan(0);
    await expect.poll(() => runTasks(platform, "wp-").length, { timeout: 30_000 }).toBe(before + 1);
    await expect.poll(() => warmCount(platform), { timeout: 60_000 }).toBe(2);
    await bb.sessions.update(session.id, { status: "REQUEST_RELEASE", projectId: platform.projectId });
    await expect.poll(() => memberProcesses(member!.id).length, { timeout: 30_000 }).toBe(0);
  });

  it("replaces a member killed while warm", async () => {
    await expect.poll(() => warmCount(platform), { timeout: 60_000 }).toBe(2);
    const victim = (await poolOf(platform)).members.find((m) => m.state === "warm")!;
    const task = [...platform.standIn.tasks.values()].find((t) => t.environment[NodeEnv.memberId] === victim.id)!;
    process.kill(-task.pid!, "SIGKILL"); // the node and its Chromium, as a task dying under it
    await expect.poll(async () => (await poolOf(platform)).members.some((m) => m.id === victim.id), { timeout: 30_000 }).toBe(false);
    await expect.poll(() => warmCount(platform), { timeout: 60_000 }).toBe(2);
  });

  it("takes a burst larger than the pool (the rest cold) and refills behind it", async () => {
    await expect.poll(() => warmCount(platform), { timeout: 60_000 }).toBe(2);
    const sessions = await Promise.all([1, 2, 3].map(() => bb.sessions.create({ projectId: platform.projectId })));
    expect(sessions.map((s) => s.status)).toEqual(["RUNNING", "RUNNING", "RUNNING"]);
    const cold = sessions.filter((s) => runTasks(platform, "wc-").some((c) => c.clientToken === s.id));
    expect(cold.length).toBeGreaterThanOrEqual(1); // only two were warm
    for (const s of sessions) await bb.sessions.update(s.id, { status: "REQUEST_RELEASE", projectId: platform.projectId });
    await expect.poll(() => warmCount(platform), { timeout: 60_000 }).toBe(2);
  });
});

describe("an empty pool (WARM_POOL_SIZE=0)", () => {
  let platform: LocalPlatform;
  beforeAll(async () => {
    platform = await startPlatform({ warmPoolSize: 0 });
  });
  afterAll(() => platform?.stop());

  it("starts a node reserved for each create", async () => {
    const bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl });
    const session = await bb.sessions.create({ projectId: platform.projectId });
    expect(session.status).toBe("RUNNING");
    expect(runTasks(platform, "wc-").filter((c) => c.clientToken === session.id)).toHaveLength(1);
    expect(runTasks(platform, "wp-")).toHaveLength(0);
    await bb.sessions.update(session.id, { status: "REQUEST_RELEASE", projectId: platform.projectId });
  });
});

describe("with Fargate-like start delays (WALLCRAWLER_TASK_START_DELAY_MS=30000)", () => {
  let platform: LocalPlatform;
  beforeAll(async () => {
    // The first members start without the delay (they would take 30 s); the refill after the claim does not.
    platform = await startPlatform({ warmPoolSize: 1 });
  });
  afterAll(() => platform?.stop());

  it("answers a warm create while its replacement is still provisioning", async () => {
    await expect.poll(() => warmCount(platform), { timeout: 60_000 }).toBe(1);
    platform.standIn.setStartDelay(30_000); // as WALLCRAWLER_TASK_START_DELAY_MS=30000, from now on
    const bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl });
    const session = await bb.sessions.create({ projectId: platform.projectId });
    expect(session.status).toBe("RUNNING");
    // Its replacement was asked for and is still provisioning: the create did not wait for it.
    await expect.poll(async () => (await poolOf(platform)).starting, { timeout: 10_000 }).toBe(1);
    const replacement = [...platform.standIn.tasks.values()].filter((t) => t.startedBy?.startsWith("wp-")).at(-1)!;
    expect(replacement.lastStatus).toBe("PROVISIONING");
    platform.standIn.setStartDelay(0);
    await bb.sessions.update(session.id, { status: "REQUEST_RELEASE", projectId: platform.projectId });
  });
});
