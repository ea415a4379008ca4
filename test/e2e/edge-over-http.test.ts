/**
 * The edge in wrangler's dev server (real workerd, real HTTP), with the local ECS stand-in
 * recording what it is asked; the test plays the browser node over real WebSockets (`ws`):
 * create → link + ready → a CDP client through the edge, joined to the node's channel →
 * release (the node's `end`, its close frame to the client), with the stand-in's task events posted
 * back over HTTP.
 * (A client that gives up on a create is tested in test/edge: local workerd does not turn a
 * client disconnect into `request.signal`'s abort, Cloudflare does.)
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unstable_startWorker } from "wrangler";
import WebSocket from "ws";
import { CloseCode, NodeEnv, nodeChannelPath, nodeLinkPath, poolLinkPath, PoolLinkClose, TASK_EVENTS_PATH, type EdgeToNode, type PoolToNode } from "../../edge/node-protocol.ts";
import { generateSecrets } from "../../browser-node/local/dev-secrets.ts";
import { startEcsStandIn, type EcsStandIn, type RecordedCall } from "../../browser-node/local/ecs-stand-in.ts";
import { freePort } from "../../browser-node/local/tasks.ts";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
process.env.WRANGLER_HIDE_BANNER = "true";

const envOf = (call: RecordedCall) =>
  Object.fromEntries(((call.body as any).overrides.containerOverrides[0].environment as { name: string; value: string }[]).map((e) => [e.name, e.value]));

describe("the edge over real HTTP (wrangler unstable_startWorker)", () => {
  let worker: Awaited<ReturnType<typeof unstable_startWorker>>;
  let standIn: EcsStandIn;
  let edge: string;
  let apiKey: string;
  let adminToken: string;
  const headers = () => ({ "X-BB-API-Key": apiKey, "content-type": "application/json" });

  beforeAll(async () => {
    const secrets = await generateSecrets();
    const port = await freePort();
    edge = `http://127.0.0.1:${port}`;
    standIn = await startEcsStandIn({
      region: "us-east-1",
      runner: "record",
      credentials: { accessKeyId: secrets.AWS_ACCESS_KEY_ID, secretAccessKey: secrets.AWS_SECRET_ACCESS_KEY },
      taskEvents: { url: `${edge}${TASK_EVENTS_PATH}`, secret: secrets.TASK_EVENTS_SECRET },
    });
    // The pool off: this test plays its one node itself, on the cold path.
    const vars = { ECS_ENDPOINT: standIn.url, EC2_ENDPOINT: standIn.url, ECS_SUBNETS: "subnet-e2e", ECS_SECURITY_GROUPS: "sg-e2e", WARM_POOL_SIZE: "0" };
    worker = await unstable_startWorker({
      config: "wrangler.toml",
      envFiles: [],
      bindings: Object.fromEntries(
        Object.entries({ ...secrets, ...vars }).map(([name, value]) => [name, { type: "plain_text" as const, value }]),
      ),
      dev: { server: { hostname: "127.0.0.1", port }, persist: false, watch: false, inspector: false, logLevel: "warn" },
    });
    await worker.ready;
    adminToken = secrets.ADMIN_TOKEN;
    const admin = { authorization: `Bearer ${secrets.ADMIN_TOKEN}`, "content-type": "application/json" };
    const project = (await (await fetch(`${edge}/admin/projects`, { method: "POST", headers: admin, body: JSON.stringify({ name: "over-http" }) })).json()) as { id: string };
    apiKey = ((await (await fetch(`${edge}/admin/projects/${project.id}/keys`, { method: "POST", headers: admin, body: "{}" })).json()) as { key: string }).key;
  });

  afterAll(async () => {
    await worker?.dispose();
    await standIn?.close();
  });

  /** The RunTask of a session not seen before, as the stand-in recorded it. */
  async function nextRunTask(seen: Set<string>) {
    await expect.poll(() => standIn.calls.some((c) => c.action === "RunTask" && !seen.has(c.clientToken!)), { timeout: 10_000 }).toBe(true);
    const call = standIn.calls.find((c) => c.action === "RunTask" && !seen.has(c.clientToken!))!;
    seen.add(call.clientToken!);
    return { sessionId: call.clientToken!, env: envOf(call) };
  }
  const seen = new Set<string>();

  /** A `ws` socket, open, with every message it got (as the `ws` package hands them over). */
  async function open(url: string, authorization?: string) {
    const ws = new WebSocket(url, { headers: authorization ? { authorization } : {}, perMessageDeflate: false });
    const got: { data: Buffer; binary: boolean }[] = [];
    ws.on("message", (data: Buffer, binary: boolean) => got.push({ data, binary }));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return { ws, got, closed };
  }

  it("create → link and ready → CDP through the edge → retrieve → release", async () => {
    const creating = fetch(`${edge}/v1/sessions`, { method: "POST", headers: headers(), body: JSON.stringify({ keepAlive: true }) });
    const { sessionId, env } = await nextRunTask(seen);
    expect(env[NodeEnv.edgeUrl]).toBe(edge);
    const wsEdge = edge.replace(/^http/, "ws");
    // The member (reserved for this session: no member was warm) takes its assignment over its pool link.
    const poolLink = await open(`${wsEdge}${poolLinkPath(env[NodeEnv.pool], env[NodeEnv.memberId])}`, `Bearer ${env[NodeEnv.bootstrapToken]}`);
    await expect.poll(() => poolLink.got.length).toBeGreaterThan(0);
    const { assignment } = JSON.parse(String(poolLink.got[0].data)) as PoolToNode;
    expect(assignment).toMatchObject({ sessionId, connectMode: "edge" });
    const link = await open(`${wsEdge}${nodeLinkPath(sessionId)}`, `Bearer ${assignment.linkToken}`);
    poolLink.ws.close(PoolLinkClose.assigned.code, PoolLinkClose.assigned.reason);
    const messages = () => link.got.map((m) => JSON.parse(String(m.data)) as EdgeToNode);
    await expect.poll(() => messages()[0]?.t).toBe("welcome");
    const { nodeToken } = messages()[0] as { nodeToken: string };
    // The node: answers `open` by dialing the channel, and keeps it to play Chromium.
    const channels: Awaited<ReturnType<typeof open>>[] = [];
    link.ws.on("message", async (data: Buffer) => {
      const m = JSON.parse(String(data)) as EdgeToNode;
      if (m.t !== "call" || m.call.op !== "open") return;
      channels.push(await open(`${wsEdge}${nodeChannelPath(sessionId, m.call.channel)}`, `Bearer ${nodeToken}`));
      link.ws.send(JSON.stringify({ t: "reply", id: m.id, ok: true, value: null }));
    });
    link.ws.send(JSON.stringify({ t: "ready", browserVersion: "Chrome/156.0.0.0" }));
    const created = await creating;
    expect(created.status).toBe(201);
    const session = (await created.json()) as { signingKey: string; connectUrl: string };
    expect(session).toMatchObject({ id: sessionId, status: "RUNNING", keepAlive: true });
    expect(session.connectUrl).toBe(`${wsEdge}/cdp/${sessionId}?signingKey=${session.signingKey}`);

    // A client with a bad token never gets an upgrade; the session's own one is joined to a channel.
    await expect(open(`${wsEdge}/cdp/${sessionId}?signingKey=${session.signingKey.slice(0, -4)}AAAA`)).rejects.toThrow(/401/);
    const client = await open(session.connectUrl);
    expect(channels).toHaveLength(1);
    client.ws.send('{"id":1,"method":"Browser.getVersion"}');
    client.ws.send(Buffer.from([0, 1, 2, 255]));
    await expect.poll(() => channels[0].got.length).toBe(2);
    expect(channels[0].got.map((m) => [String(m.data), m.binary])).toEqual([
      ['{"id":1,"method":"Browser.getVersion"}', false],
      [Buffer.from([0, 1, 2, 255]).toString(), true],
    ]);
    channels[0].ws.send('{"id":1,"result":{}}');
    await expect.poll(() => client.got.length).toBe(1);
    expect([String(client.got[0].data), client.got[0].binary]).toEqual(['{"id":1,"result":{}}', false]);
    const retrieved = await (await fetch(`${edge}/v1/sessions/${sessionId}`, { headers: headers() })).json();
    expect(retrieved).toEqual(session);

    const released = await fetch(`${edge}/v1/sessions/${sessionId}`, { method: "POST", headers: headers(), body: JSON.stringify({ status: "REQUEST_RELEASE" }) });
    expect(released.status).toBe(200);
    expect(((await released.json()) as { status: string }).status).toBe("COMPLETED");
    // The node is told, and closes its clients: its close frame reaches the client through the edge.
    await expect.poll(() => messages().find((m) => m.t === "end")).toMatchObject({ t: "end", reason: "released" });
    channels[0].ws.close(CloseCode.released.code, CloseCode.released.reason);
    expect(await client.closed).toEqual(CloseCode.released);
    expect(await channels[0].closed).toEqual(CloseCode.released);
    link.ws.close(1000);
    const task = [...standIn.tasks.values()].find((t) => t.startedBy === `wc-${sessionId}`)!;
    expect(task.desiredStatus).toBe("STOPPED");
    // The stand-in's STOPPED event reaches the edge over HTTP, and moves nothing.
    await expect.poll(() => task.lastStatus, { timeout: 5_000 }).toBe("STOPPED");
    const after = await (await fetch(`${edge}/v1/sessions/${sessionId}`, { headers: headers() })).json();
    expect(after).toMatchObject({ status: "COMPLETED", endedAt: expect.any(String) });
  });

  it("the admin CLI creates a project and a key, lists and revokes it", async () => {
    const admin = (...args: string[]) =>
      promisify(execFile)(process.execPath, ["--import", "tsx", "edge/cli/admin.ts", ...args], {
        env: { ...process.env, WALLCRAWLER_EDGE_URL: edge, WALLCRAWLER_ADMIN_TOKEN: adminToken },
      }).then(({ stdout }) => JSON.parse(stdout));
    const project = await admin("projects", "create", "--name", "from-cli", "--concurrency", "3", "--default-timeout", "120");
    expect(project).toMatchObject({ name: "from-cli", concurrency: 3, defaultTimeout: 120 });
    const key = await admin("keys", "create", project.id, "--name", "ci");
    expect(key.key).toMatch(/^wc_/);
    const sessions = await fetch(`${edge}/v1/sessions`, { headers: { "X-BB-API-Key": key.key } });
    expect(sessions.status).toBe(200);
    expect((await admin("keys", "list", project.id)).map((k: { id: string }) => k.id)).toEqual([key.id]);
    expect(await admin("keys", "revoke", project.id, key.id)).toEqual({ ok: true });
    expect((await fetch(`${edge}/v1/sessions`, { headers: { "X-BB-API-Key": key.key } })).status).toBe(401);
    const failed = await admin("projects", "get", "no-such-project").catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining("404 Project not found") });
  });
});
