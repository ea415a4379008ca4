/** What the edge tests share: calls into the Worker, the admin API, and playing a browser node. */
import { env as bindings, exports } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../edge/index.ts";
import { inject } from "vitest";
import { strToU8, zipSync } from "fflate";
import { NodeEnv, nodeArtifactPath, TASK_EVENTS_PATH, TASK_EVENTS_SECRET_HEADER, type ArtifactKind, type Assignment } from "../../edge/node-protocol.ts";
import { FakeMember, FakeNode, scriptedCalls, type CallHandler } from "./fake-node.ts";

import type { EdgeEnv } from "../../edge/env.ts";
import type { SessionPatch } from "../../edge/durable/session-store.ts";
import type { SessionRecord } from "../../edge/sessions/session-record.ts";

export const BASE = "http://edge.test";
/** The Worker's bindings, secrets included (the test run generated them). */
export const env = bindings as EdgeEnv;

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

export async function call(path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await exports.default.fetch(new Request(`${BASE}${path}`, init));
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: left as text, and the test says so
  }
  return { status: res.status, body, headers: res.headers };
}

const jsonInit = (method: string, body: unknown, headers: Record<string, string>): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...headers },
  body: body === undefined ? undefined : JSON.stringify(body),
});

/** A create through the app with vars overridden, as `wrangler dev --var NAME:value` would set them. */
export async function createWith(vars: Record<string, string>, key: string, body: unknown = {}): Promise<Answer> {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}/v1/sessions`, {
    method: "POST",
    headers: { "X-BB-API-Key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const res = await worker.fetch(request, { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

export const api = (key: string, method: string, path: string, body?: unknown) =>
  call(path, jsonInit(method, body, { "X-BB-API-Key": key }));

export const admin = (method: string, path: string, body?: unknown) =>
  call(path, jsonInit(method, body, { authorization: `Bearer ${env.ADMIN_TOKEN}` }));

/** A fresh project and an API key for it. */
export async function newProject(settings: { concurrency?: number; defaultTimeout?: number; name?: string } = {}) {
  const project = await admin("POST", "/admin/projects", { name: settings.name ?? "test", ...settings });
  if (project.status !== 201) throw new Error(`project: ${project.status} ${JSON.stringify(project.body)}`);
  const key = await admin("POST", `/admin/projects/${project.body.id}/keys`, { name: "test key" });
  if (key.status !== 201) throw new Error(`key: ${key.status} ${JSON.stringify(key.body)}`);
  return { projectId: project.body.id as string, key: key.body.key as string, keyId: key.body.id as string };
}

// ---- the ECS stand-in's record of what the edge asked for ------------------------------------

export interface RecordedCall {
  service: "ecs" | "ec2";
  action: string;
  body: any;
  clientToken?: string;
  signedBy?: string;
  status: number;
}

/** Reads the stand-in's record (node/stand-in-record.ts) with this run's secret. */
async function standInRecord<T>(path: "/calls" | "/tasks"): Promise<T> {
  const { url, secret } = inject("standInRecord");
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
  if (res.status !== 200) throw new Error(`stand-in record ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export const standInCalls = () => standInRecord<RecordedCall[]>("/calls");

/** The stand-in's tasks, as DescribeTasks renders them. */
export const standInTasks = () => standInRecord<any[]>("/tasks");

export const envOf = (call: RecordedCall): Record<string, string> =>
  Object.fromEntries((call.body?.overrides?.containerOverrides?.[0]?.environment ?? []).map((e: { name: string; value: string }) => [e.name, e.value]));

export interface LaunchedNode {
  sessionId: string;
  /** The session link token, from the assignment. */
  linkToken: string;
  /** The member's boot environment, as RunTask sent it. */
  env: Record<string, string>;
  runTask: RecordedCall;
  /** The session's part, as the pool sent it over the member's pool link. */
  assignment: Assignment;
  member: FakeMember;
}

/** Sessions already handed to a test, so each RunTask is claimed once. */
const claimed = new Set<string>();

/** Whether session `id` is `projectId`'s (its object answers only its own project). */
const ofProject = async (id: string, projectId: string) => (await env.SESSIONS.getByName(id).get(projectId)).ok;

/**
 * Waits for the cold-path RunTask (a member reserved for a session, `wc-<session>`) of the next
 * session of `projectId` that no test has claimed yet, opens that member's pool link with its
 * bootstrap token and takes its assignment, as a node does.
 */
export async function nextLaunch(projectId: string, known: Set<string> = claimed): Promise<LaunchedNode> {
  const refused = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const runs = (await standInCalls()).filter((c) => c.action === "RunTask" && c.status === 200 && c.body?.startedBy?.startsWith("wc-"));
    for (const run of runs) {
      const sessionId = run.clientToken!;
      if (known.has(sessionId) || claimed.has(sessionId) || refused.has(sessionId)) continue;
      if (!(await ofProject(sessionId, projectId))) {
        refused.add(sessionId);
        continue;
      }
      known.add(sessionId);
      claimed.add(sessionId);
      const e = envOf(run);
      const member = await FakeMember.dial(e[NodeEnv.pool], e[NodeEnv.memberId], e[NodeEnv.bootstrapToken]);
      const assignment = await member.assignment();
      return { sessionId, linkToken: assignment.linkToken, env: e, runTask: run, assignment, member };
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no RunTask for project ${projectId}`);
}

/** The stand-in's task for a session, as DescribeTasks renders it. */
export async function taskOf(sessionId: string): Promise<any> {
  return (await standInTasks()).find((t) => t.startedBy === `wc-${sessionId}`);
}

/** Every ECS call about a session: its RunTask(s) and the calls naming its task. */
export async function callsFor(sessionId: string): Promise<RecordedCall[]> {
  const taskArn = (await taskOf(sessionId))?.taskArn ?? "none";
  return (await standInCalls()).filter(
    (c) => c.clientToken === sessionId || c.body?.task === taskArn || (Array.isArray(c.body?.tasks) && c.body.tasks.includes(taskArn)),
  );
}

// ---- playing the node --------------------------------------------------------------------------

export const taskEvent = (detail: Record<string, unknown>, secret: string = env.TASK_EVENTS_SECRET!) =>
  call(
    TASK_EVENTS_PATH,
    jsonInit("POST", { version: "0", "detail-type": "ECS Task State Change", source: "aws.ecs", detail }, { [TASK_EVENTS_SECRET_HEADER]: secret }),
  );

/** Dials the launched node's session link, hands its pool link over, and reports it ready (in direct mode naming `direct`). */
export async function readyNode(launched: LaunchedNode, options: { handler?: CallHandler; direct?: { host?: string; port: number } } = {}) {
  const link = await FakeNode.dial(launched.sessionId, launched.linkToken, options.handler ?? scriptedCalls);
  launched.member.handOver();
  link.ready({ direct: options.direct });
  return { ...launched, link, nodeToken: link.nodeToken };
}

/** Creates a session and plays its node through `ready`; resolves with the create's answer and the node. */
export async function startSession(key: string, projectId: string, body: unknown = {}, known?: Set<string>, options: Parameters<typeof readyNode>[1] = {}) {
  const created = api(key, "POST", "/v1/sessions", body);
  const node = await readyNode(await nextLaunch(projectId, known), options);
  const answer = await created;
  if (answer.status !== 201) throw new Error(`create: ${answer.status} ${JSON.stringify(answer.body)}`);
  return { created: answer, node };
}

export const sessionObject = (id: string) => env.SESSIONS.getByName(id);

/**
 * Moves a session's clock: patches its record as if time had passed. Through the object's own
 * store, which keeps the record in memory (a write straight to storage would go unseen).
 */
export const patchRecord = (id: string, change: (r: SessionRecord) => SessionPatch) =>
  runInDurableObject(sessionObject(id), (o) => {
    const store = o["store"];
    store.update(change(store.require()));
  });

/** Polls `check` until it holds (the link's messages are handled after the send returns). */
export async function until(check: () => Promise<boolean>, what = "condition") {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${what} never held`);
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SESSION_KEYS = ["id", "createdAt", "updatedAt", "startedAt", "expiresAt", "projectId", "keepAlive", "proxyBytes", "region", "status"];
const OPTIONAL_KEYS = ["endedAt", "contextId", "userMetadata"];
const CONNECT_KEYS = ["connectUrl", "seleniumRemoteUrl", "signingKey"];

/** Checks a session field by field against the Browserbase API's Session: required keys, types, no nulls, nothing extra. */
export function checkSessionShape(s: Record<string, unknown>, options: { connect: boolean }) {
  const keys = Object.keys(s);
  for (const k of SESSION_KEYS) if (!keys.includes(k)) throw new Error(`session lacks ${k}`);
  for (const k of CONNECT_KEYS) if (options.connect !== keys.includes(k)) throw new Error(`session ${options.connect ? "lacks" : "has"} ${k}`);
  const extra = keys.filter((k) => ![...SESSION_KEYS, ...OPTIONAL_KEYS, ...CONNECT_KEYS].includes(k));
  if (extra.length) throw new Error(`unexpected keys ${extra}`);
  for (const [k, v] of Object.entries(s)) if (v === null) throw new Error(`${k} is null`);
  for (const k of ["createdAt", "updatedAt", "startedAt", "expiresAt", ...(s.endedAt ? ["endedAt"] : [])])
    if (!ISO.test(String(s[k]))) throw new Error(`${k} is not ISO-8601: ${s[k]}`);
  if (typeof s.keepAlive !== "boolean" || typeof s.proxyBytes !== "number") throw new Error("keepAlive/proxyBytes types");
  if (!["us-west-2", "us-east-1", "eu-central-1", "ap-southeast-1"].includes(String(s.region))) throw new Error(`region ${s.region}`);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(String(s.id))) throw new Error(`id ${s.id}`);
}

// ---- artifacts ---------------------------------------------------------------------------------

/** A multipart upload as the SDK sends it (`file` part), with the API key. */
export function upload(key: string, path: string, parts: Record<string, string | File>, headers: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(parts)) form.append(name, value);
  return call(path, { method: "POST", headers: { "X-BB-API-Key": key, ...headers }, body: form });
}

/** A zip (deflated) holding `files`. */
export const zipOf = (files: Record<string, string | Uint8Array>) =>
  zipSync(Object.fromEntries(Object.entries(files).map(([name, data]) => [name, typeof data === "string" ? strToU8(data) : data])));

export const EXTENSION_ZIP = zipOf({ "manifest.json": JSON.stringify({ manifest_version: 3, name: "test", version: "1.0" }), "background.js": "// test" });

export const sha256 = async (data: ArrayBuffer | Uint8Array) =>
  Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data)), (b) => b.toString(16).padStart(2, "0")).join("");

/** A call answered as the Response itself (bodies may be binary). */
export const raw = (path: string, init: RequestInit = {}) => exports.default.fetch(new Request(`${BASE}${path}`, init));

/** A node's call to one of its artifact routes. */
export const nodeArtifact = (sessionId: string, token: string, method: string, kind: ArtifactKind, body?: BodyInit, headers: Record<string, string> = {}) =>
  raw(nodeArtifactPath(sessionId, kind), { method, body, headers: { authorization: `Bearer ${token}`, ...headers } });

/** Creates an extension of the key's project and answers its id. */
export async function newExtension(key: string, zip: Uint8Array = EXTENSION_ZIP) {
  const res = await upload(key, "/v1/extensions", { file: new File([zip], "ext.zip", { type: "application/zip" }) });
  if (res.status !== 201) throw new Error(`extension: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}
