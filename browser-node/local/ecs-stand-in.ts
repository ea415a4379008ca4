/**
 * A local stand-in for the two AWS APIs the edge calls: ECS (JSON 1.1: RunTask, StopTask,
 * DescribeTasks) and EC2 (query API: DescribeNetworkInterfaces). It checks SigV4 as AWS does,
 * honours RunTask's clientToken, runs each task as a browser-node process, and posts the
 * "ECS Task State Change" events EventBridge would. The edge uses the same client against it as
 * against AWS; only the endpoint differs.
 *
 * It listens on loopback, where every session's browser can reach it too, so it serves nothing
 * but the signed AWS API, and even there no task's token: a page that read one could act as
 * another session's node. Tests read what the edge asked for from `calls` and `tasks` in-process.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { TASK_EVENTS_SECRET_HEADER } from "../../edge/node-protocol.ts";
import { mayPassLater, retrying } from "../../edge/retries.ts";
import { SignatureError, verifySigV4, type Credentials } from "./sigv4.ts";
import { newTask, startTaskProcess, type Runner, type Task, type TaskProcessOptions } from "./tasks.ts";
import { describeNetworkInterfacesXml, ec2ErrorXml } from "./ec2-xml.ts";
import { describeTask } from "./task-view.ts";
import { FRONT_KEEP_ALIVE_MS } from "./edge-front.ts";

export interface EcsStandInOptions extends TaskProcessOptions {
  host?: string;
  port?: number;
  region: string;
  credentials: Credentials;
  runner: Runner;
  /** Where "ECS Task State Change" events go, as EventBridge's API destination would post them. */
  taskEvents?: { url: string; secret: string };
  /** StopTask sends SIGTERM, then SIGKILL after this many ms (default 30000, Fargate's default stopTimeout). */
  stopGraceMs?: number;
  /**
   * A task's node process starts this many ms after RunTask (which answers at once), as a Fargate
   * task takes 30-60 s to start; PROVISIONING until then. Default: WALLCRAWLER_TASK_START_DELAY_MS, else 0.
   */
  startDelayMs?: number;
}

/** Every call, signed or not, with its body as sent (node tokens included: this stays in-process). */
export interface RecordedCall {
  service: "ecs" | "ec2";
  action: string;
  body: unknown;
  clientToken?: string;
  signedBy?: string;
  status: number;
}

export interface EcsStandIn {
  url: string;
  /** In-process only: these hold each task's environment as the edge sent it, tokens included. */
  calls: RecordedCall[];
  tasks: Map<string, Task>;
  /** Changes the start delay of the tasks RunTask starts from now on (tests: a warm pool whose refills take Fargate's time). */
  setStartDelay(ms: number): void;
  close(): Promise<void>;
}

class EcsApiFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113.";

export async function startEcsStandIn(options: EcsStandInOptions): Promise<EcsStandIn> {
  const tasks = new Map<string, Task>();
  const byClientToken = new Map<string, Task>();
  const processes = new Map<string, ChildProcess>();
  const calls: RecordedCall[] = [];
  const stopGraceMs = options.stopGraceMs ?? 30_000;
  let startDelayMs = options.startDelayMs ?? taskStartDelayFromEnv();
  let closing = false;

  const setStatus = (task: Task, status: Task["lastStatus"]) => {
    if (task.lastStatus === status || task.lastStatus === "STOPPED") return;
    task.lastStatus = status;
    if (status === "RUNNING") task.startedAt = Date.now() / 1000;
    if (status === "STOPPED") {
      task.stoppedAt = Date.now() / 1000;
      task.desiredStatus = "STOPPED";
      processes.delete(task.taskArn);
    }
    void postTaskEvent(options, task);
  };

  const run = (task: Task) => {
    if (task.desiredStatus === "STOPPED") return; // stopped while it was provisioning
    setStatus(task, "PENDING");
    if (options.runner === "record") return setStatus(task, "RUNNING");
    try {
      const child = startTaskProcess(task, options, (code, signal) => {
        task.exitCode = code ?? (signal ? 128 + 9 : 1);
        task.stopCode ??= "EssentialContainerExited";
        task.stoppedReason ??= "Essential container in task exited";
        setStatus(task, "STOPPED");
      });
      processes.set(task.taskArn, child);
      if (task.lastStatus !== "STOPPED") setStatus(task, "RUNNING");
    } catch (error) {
      task.stopCode = "TaskFailedToStart";
      task.stoppedReason = `CannotStartContainerError: ${(error as Error).message}`;
      setStatus(task, "STOPPED");
    }
  };

  const stop = (task: Task, reason: string) => {
    if (task.desiredStatus === "STOPPED") return;
    task.desiredStatus = "STOPPED";
    task.stopCode = "UserInitiated";
    task.stoppedReason = reason;
    task.stoppingAt = Date.now() / 1000;
    const child = processes.get(task.taskArn);
    if (!child) return setStatus(task, "STOPPED");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), stopGraceMs);
    child.once("exit", () => clearTimeout(timer));
  };

  const findTask = (ref: string) =>
    tasks.get(ref) ?? [...tasks.values()].find((t) => t.taskArn.endsWith(`/${ref}`));

  const ecs: Record<string, (body: any) => unknown> = {
    RunTask(body) {
      // A closing stand-in starts nothing: the warm pool refills behind every member it stops.
      if (closing) throw new EcsApiFault("ServerException", "The local ECS stand-in is shutting down.", 500);
      if (!body.taskDefinition) throw new EcsApiFault("ClientException", "TaskDefinition can not be blank.");
      if (body.startedBy !== undefined && !/^[A-Za-z0-9_/-]{1,128}$/.test(body.startedBy))
        throw new EcsApiFault("InvalidParameterException", "startedBy may only contain letters, numbers, hyphens, underscores and slashes.");
      if (body.clientToken !== undefined && String(body.clientToken).length > 64)
        throw new EcsApiFault("InvalidParameterException", "clientToken must be at most 64 characters.");
      const vpc = body.networkConfiguration?.awsvpcConfiguration;
      if (body.launchType === "FARGATE" && !vpc?.subnets?.length)
        throw new EcsApiFault("InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.");
      if (body.clientToken && byClientToken.has(body.clientToken)) return { tasks: [describeTask(byClientToken.get(body.clientToken)!)], failures: [] };
      const override = body.overrides?.containerOverrides?.[0];
      const environment = Object.fromEntries(
        (override?.environment ?? []).map((e: { name: string; value: string }) => [e.name, e.value]),
      );
      const task = newTask({
        region: options.region,
        cluster: body.cluster ?? "default",
        taskDefinition: body.taskDefinition,
        containerName: override?.name ?? "browser-node",
        environment,
        startedBy: body.startedBy,
        group: body.group,
        clientToken: body.clientToken,
      });
      tasks.set(task.taskArn, task);
      if (body.clientToken) byClientToken.set(body.clientToken, task);
      void postTaskEvent(options, task);
      if (startDelayMs > 0) setTimeout(() => run(task), startDelayMs).unref();
      else setImmediate(() => run(task));
      return { tasks: [describeTask(task)], failures: [] };
    },
    StopTask(body) {
      const task = body.task && findTask(body.task);
      if (!task) throw new EcsApiFault("InvalidParameterException", "The referenced task was not found.");
      stop(task, body.reason ?? "Task stopped by user");
      return { task: describeTask(task) };
    },
    DescribeTasks(body) {
      if (!Array.isArray(body.tasks)) throw new EcsApiFault("InvalidParameterException", "Tasks cannot be empty.");
      const found = body.tasks.map((ref: string) => [ref, findTask(ref)] as const);
      return {
        tasks: found.filter(([, t]: readonly [string, Task | undefined]) => t).map(([, t]: any) => describeTask(t)),
        failures: found.filter(([, t]: any) => !t).map(([ref]: any) => ({ arn: ref, reason: "MISSING" })),
      };
    },
  };

  // The edge's workerd pools its connections here and drops one after 5 s idle; a server that
  // dropped it at the same moment would lose the request written onto it, so this one waits longer
  // (as AWS's endpoints do).
  const server = createServer({ keepAliveTimeout: FRONT_KEEP_ALIVE_MS }, async (req, res) => {
    const body = await readBody(req);
    const target = String(req.headers["x-amz-target"] ?? "");
    const url = new URL(req.url ?? "/", "http://stand-in");

    const isEcs = target.startsWith(ECS_TARGET_PREFIX);
    const form = isEcs ? undefined : new URLSearchParams(body);
    const service = isEcs ? "ecs" : "ec2";
    const action = isEcs ? target.slice(ECS_TARGET_PREFIX.length) : (form!.get("Action") ?? "");
    const call: RecordedCall = { service, action, body: isEcs ? safeJson(body) : Object.fromEntries(form!), status: 200 };
    calls.push(call);
    try {
      call.signedBy = await verifySigV4(
        { method: req.method ?? "GET", host: req.headers.host ?? "", path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body },
        { credentials: options.credentials, region: options.region, service },
      );
      if (isEcs) {
        const handler = ecs[action];
        if (!handler) throw new EcsApiFault("UnknownOperationException", `Unknown operation ${action}`);
        const parsed = safeJson(body);
        if (parsed === undefined) throw new EcsApiFault("SerializationException", "Request body is not valid JSON");
        call.clientToken = (parsed as any).clientToken;
        return sendJson(res, 200, handler(parsed), "application/x-amz-json-1.1");
      }
      if (action !== "DescribeNetworkInterfaces") throw new EcsApiFault("InvalidAction", `The action ${action} is not valid for this web service.`);
      const ids = [...form!.entries()].filter(([k]) => /^NetworkInterfaceId\.\d+$/.test(k)).map(([, v]) => v);
      const enis = [...tasks.values()].filter((t) => ids.length === 0 || ids.includes(t.eniId));
      const missing = ids.find((id) => !enis.some((t) => t.eniId === id));
      if (missing) throw new EcsApiFault("InvalidNetworkInterfaceID.NotFound", `The networkInterface ID '${missing}' does not exist`);
      res.writeHead(200, { "content-type": "text/xml" }).end(describeNetworkInterfacesXml(enis));
    } catch (error) {
      const e = error instanceof SignatureError || error instanceof EcsApiFault ? error : new EcsApiFault("ServerException", String(error), 500);
      call.status = e.status;
      if (isEcs) sendJson(res, e.status, { __type: e.code, message: e.message }, "application/x-amz-json-1.1");
      else res.writeHead(e.status, { "content-type": "text/xml" }).end(ec2ErrorXml(e.code === "UnrecognizedClientException" ? "AuthFailure" : e.code, e.message));
    }
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    calls,
    tasks,
    setStartDelay: (ms) => {
      startDelayMs = ms;
    },
    async close() {
      closing = true;
      const exits = [...processes.values()].map((child) => new Promise((resolve) => child.once("exit", resolve)));
      for (const task of tasks.values()) stop(task, "Local ECS stand-in shut down");
      await Promise.all(exits);
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections(); // the edge's keep-alive connections, and its retries, end here
      await closed;
    },
  };
}

async function postTaskEvent(options: EcsStandInOptions, task: Task) {
  const target = options.taskEvents;
  if (!target) return;
  const event = {
    version: "0",
    id: randomUUID(),
    "detail-type": "ECS Task State Change",
    source: "aws.ecs",
    account: "000000000000",
    time: new Date().toISOString(),
    region: options.region,
    resources: [task.taskArn],
    detail: { ...describeTask(task), overrides: undefined, updatedAt: new Date().toISOString() },
  };
  // EventBridge retries failed deliveries for up to 24 h; a few quick retries serve a local run
  // (the edge may not be up yet, or restarting). A delivery that fails them all is dropped.
  const deliver = async () => {
    const res = await fetch(target.url, {
      method: "POST",
      headers: { "content-type": "application/json", [TASK_EVENTS_SECRET_HEADER]: target.secret },
      body: JSON.stringify(event),
    });
    if (mayPassLater(res.status)) throw new Error(`the edge answered ${res.status}`);
  };
  await retrying({ attempts: 3, firstDelayMs: 250, maxDelayMs: 500 }, deliver, () => true).catch(() => {});
}

async function readBody(req: IncomingMessage) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function safeJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, type = "application/json") {
  res.writeHead(status, { "content-type": type }).end(JSON.stringify(body));
}

/** WALLCRAWLER_TASK_START_DELAY_MS, a whole number of ms (0 when unset). */
export function taskStartDelayFromEnv(): number {
  const raw = process.env.WALLCRAWLER_TASK_START_DELAY_MS;
  if (!raw) return 0;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`WALLCRAWLER_TASK_START_DELAY_MS must be a whole number of milliseconds, got "${raw}"`);
  return ms;
}
