/**
 * The edge in wrangler's dev server (real workerd, real HTTP), with the local ECS stand-in
 * recording what it is asked; the test plays the browser node over HTTP: create → ready
 * callback → retrieve → release, with the stand-in's task events posted back over HTTP.
 * (A client that gives up on a create is tested in test/edge: local workerd does not turn a
 * client disconnect into `request.signal`'s abort, Cloudflare does.)
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unstable_startWorker } from "wrangler";
import { NodeEnv, nodeCallbackPath, TASK_EVENTS_PATH } from "../../edge/node-protocol.ts";
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
    const vars = { ECS_ENDPOINT: standIn.url, EC2_ENDPOINT: standIn.url, ECS_SUBNETS: "subnet-e2e", ECS_SECURITY_GROUPS: "sg-e2e" };
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

  it("create → ready callback → retrieve → release", async () => {
    const creating = fetch(`${edge}/v1/sessions`, { method: "POST", headers: headers(), body: JSON.stringify({ keepAlive: true }) });
    const { sessionId, env } = await nextRunTask(seen);
    expect(env[NodeEnv.edgeUrl]).toBe(edge);
    const ready = await fetch(`${edge}${nodeCallbackPath(sessionId, "ready")}`, {
      method: "POST",
      headers: { authorization: `Bearer ${env[NodeEnv.nodeToken]}`, "content-type": "application/json" },
      body: JSON.stringify({ host: "127.0.0.1", port: 9555, browserVersion: "Chrome/156.0.0.0" }),
    });
    expect(ready.status).toBe(200);
    const created = await creating;
    expect(created.status).toBe(201);
    const session = (await created.json()) as { signingKey: string; connectUrl: string };
    expect(session).toMatchObject({ id: sessionId, status: "RUNNING", keepAlive: true });
    expect(session.connectUrl).toBe(`ws://127.0.0.1:9555?signingKey=${session.signingKey}`);

    const retrieved = await (await fetch(`${edge}/v1/sessions/${sessionId}`, { headers: headers() })).json();
    expect(retrieved).toEqual(session);

    const released = await fetch(`${edge}/v1/sessions/${sessionId}`, { method: "POST", headers: headers(), body: JSON.stringify({ status: "REQUEST_RELEASE" }) });
    expect(released.status).toBe(200);
    expect(((await released.json()) as { status: string }).status).toBe("COMPLETED");
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
