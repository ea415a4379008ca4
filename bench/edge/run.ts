/**
 * Authenticated `GET /v1/sessions/{id}` (API-key lookup in KV, the SessionObject, JSON) against a
 * bare Hono route in the same workerd, over the same keep-alive HTTP connection, interleaved in
 * small batches so both see the same machine. Goal: the edge's p50 and p99 within 1.5× the bare route's.
 */
import { unstable_startWorker } from "wrangler";
import WebSocket from "ws";
import { NodeEnv, nodeLinkPath, poolLinkPath, PoolLinkClose, type PoolToNode } from "../../edge/node-protocol.ts";
import { generateSecrets } from "../../browser-node/local/dev-secrets.ts";
import { startEcsStandIn } from "../../browser-node/local/ecs-stand-in.ts";
import { freePort } from "../../browser-node/local/tasks.ts";
import { summarize, type BenchRow } from "../report.ts";

const ROUNDS = 40;
const BATCH = 50; // requests per route per round: 2,000 each
const WARMUP = 200;

export default async function run(): Promise<BenchRow[]> {
  process.env.WRANGLER_SEND_METRICS = "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  process.env.WRANGLER_HIDE_BANNER = "true";
  const secrets = await generateSecrets();
  const standIn = await startEcsStandIn({
    region: "us-east-1",
    runner: "record",
    credentials: { accessKeyId: secrets.AWS_ACCESS_KEY_ID, secretAccessKey: secrets.AWS_SECRET_ACCESS_KEY },
  });
  const port = await freePort();
  const edge = `http://127.0.0.1:${port}`;
  const vars = { ECS_ENDPOINT: standIn.url, EC2_ENDPOINT: standIn.url, ECS_SUBNETS: "subnet-bench", ECS_SECURITY_GROUPS: "sg-bench", WARM_POOL_SIZE: "0" };
  const worker = await unstable_startWorker({
    config: "wrangler.toml",
    entrypoint: "bench/edge/worker.ts",
    envFiles: [],
    bindings: Object.fromEntries(Object.entries({ ...secrets, ...vars }).map(([name, value]) => [name, { type: "plain_text" as const, value }])),
    dev: { server: { hostname: "127.0.0.1", port }, persist: false, watch: false, inspector: false, logLevel: "error" },
  });
  let link: WebSocket | undefined;
  try {
    await worker.ready;
    const running = await runningSession(edge, secrets.ADMIN_TOKEN, standIn.calls);
    const { key, sessionId } = running;
    link = running.link;
    const routes = {
      bare: { url: `${edge}/bare/sessions/${sessionId}`, headers: {} },
      edge: { url: `${edge}/v1/sessions/${sessionId}`, headers: { "X-BB-API-Key": key } },
    };
    for (const r of Object.values(routes)) await timed(r.url, r.headers, WARMUP);
    const samples: Record<keyof typeof routes, number[]> = { bare: [], edge: [] };
    for (let round = 0; round < ROUNDS; round++)
      for (const name of round % 2 ? (["edge", "bare"] as const) : (["bare", "edge"] as const))
        samples[name].push(...(await timed(routes[name].url, routes[name].headers, BATCH)));
    const bare = summarize(samples.bare);
    const ours = summarize(samples.edge);
    const goal = { ratio: 1.5, better: "lower" } as const;
    return [
      { bench: "edge", metric: `GET /v1/sessions/{id} p50 (n=${ours.n})`, unit: "ms", baseline: bare.p50, subject: ours.p50, goal },
      { bench: "edge", metric: `GET /v1/sessions/{id} p99 (n=${ours.n})`, unit: "ms", baseline: bare.p99, subject: ours.p99, goal },
    ];
  } finally {
    link?.close(1000);
    await worker.dispose();
    await standIn.close();
  }
}

/** Milliseconds of each of `n` sequential GETs; every answer must be a 200. */
async function timed(url: string, headers: Record<string, string>, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    times.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  }
  return times;
}

/** A project, its key, and one RUNNING session (the bench plays the node: its link and `ready`). */
async function runningSession(edge: string, adminToken: string, calls: { action: string; clientToken?: string; body: unknown }[]) {
  const admin = (path: string, body: unknown) =>
    fetch(`${edge}${path}`, { method: "POST", headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" }, body: JSON.stringify(body) }).then(
      (r) => r.json() as Promise<Record<string, string>>,
    );
  const project = await admin("/admin/projects", { name: "bench" });
  const { key } = await admin(`/admin/projects/${project.id}/keys`, {});
  const creating = fetch(`${edge}/v1/sessions`, { method: "POST", headers: { "X-BB-API-Key": key, "content-type": "application/json" }, body: "{}" });
  let run: (typeof calls)[number] | undefined;
  while (!(run = calls.find((c) => c.action === "RunTask"))) await new Promise((resolve) => setTimeout(resolve, 20));
  const env = Object.fromEntries(
    ((run.body as any).overrides.containerOverrides[0].environment as { name: string; value: string }[]).map((e) => [e.name, e.value]),
  );
  // The member reserved for the session (the bench runs its edge with the pool off) takes its assignment.
  const poolLink = new WebSocket(`${edge.replace(/^http/, "ws")}${poolLinkPath(env[NodeEnv.pool], env[NodeEnv.memberId])}`, {
    headers: { authorization: `Bearer ${env[NodeEnv.bootstrapToken]}` },
    perMessageDeflate: false,
  });
  const { assignment } = await new Promise<Extract<PoolToNode, { t: "assign" }>>((resolve, reject) => {
    poolLink.once("message", (data) => resolve(JSON.parse(String(data))));
    poolLink.once("error", reject);
  });
  const link = new WebSocket(`${edge.replace(/^http/, "ws")}${nodeLinkPath(run.clientToken!)}`, {
    headers: { authorization: `Bearer ${assignment.linkToken}` },
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    link.once("message", () => resolve()); // the welcome
    link.once("error", reject);
  });
  poolLink.close(PoolLinkClose.assigned.code, PoolLinkClose.assigned.reason);
  link.send(JSON.stringify({ t: "ready", browserVersion: "Chrome/156" }));
  if ((await creating).status !== 201) throw new Error("bench session did not start");
  return { key, sessionId: run.clientToken!, link };
}
