/**
 * The local stand-in's tasks: ECS's task life (PROVISIONING → PENDING → RUNNING → STOPPED) with
 * each task run as a browser-node child process ("process"), or run by nobody ("record", for tests
 * that play the node themselves).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { NodeEnv } from "../../edge/node-protocol.ts";
import { killMemberProcesses } from "./processes.ts";

export type TaskStatus = "PROVISIONING" | "PENDING" | "RUNNING" | "STOPPED";
export type Runner = "record" | "process";

export interface Task {
  taskArn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  startedBy?: string;
  group?: string;
  clientToken?: string;
  lastStatus: TaskStatus;
  desiredStatus: "RUNNING" | "STOPPED";
  createdAt: number; // epoch seconds, as ECS's JSON protocol sends it
  startedAt?: number;
  stoppingAt?: number;
  stoppedAt?: number;
  stopCode?: "TaskFailedToStart" | "EssentialContainerExited" | "UserInitiated";
  stoppedReason?: string;
  containerName: string;
  environment: Record<string, string>;
  exitCode?: number;
  eniId: string;
  pid?: number;
}

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
/** The bundle's command (start.mjs), which loads main.mjs beside it. */
const bundledCommand = `${repoRoot}dist/browser-node/start.mjs`;

/**
 * Node's flags for a browser node, here and in the image (browser-node/Dockerfile's CMD; a test
 * keeps the two the same). A young generation of at most 2 × 1 MiB: V8 grows it to 2 × 8 MiB
 * under a burst of requests and keeps it, which put the node over its 60 MB (README, "Node RSS");
 * the relay's CPU per message does not change measurably with it, `--optimize-for-size` costs it
 * ~10 %.
 */
export const NODE_FLAGS = ["--max-semi-space-size=1"];

/** How a browser node is started: the esbuild bundle's command when it was built (the local platform builds it at start), otherwise the sources through tsx. */
export function nodeCommand(): string[] {
  return existsSync(bundledCommand)
    ? [process.execPath, ...NODE_FLAGS, bundledCommand]
    : [process.execPath, ...NODE_FLAGS, "--import", "tsx", `${repoRoot}browser-node/start.ts`];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function newTask(init: {
  region: string;
  cluster: string;
  taskDefinition: string;
  containerName: string;
  environment: Record<string, string>;
  startedBy?: string;
  group?: string;
  clientToken?: string;
}): Task {
  const account = "000000000000";
  const id = randomUUID().replaceAll("-", "");
  return {
    taskArn: `arn:aws:ecs:${init.region}:${account}:task/${init.cluster}/${id}`,
    clusterArn: `arn:aws:ecs:${init.region}:${account}:cluster/${init.cluster}`,
    taskDefinitionArn: `arn:aws:ecs:${init.region}:${account}:task-definition/${init.taskDefinition.replace(/^.*task-definition\//, "")}${init.taskDefinition.includes(":") ? "" : ":1"}`,
    startedBy: init.startedBy,
    group: init.group,
    clientToken: init.clientToken,
    lastStatus: "PROVISIONING",
    desiredStatus: "RUNNING",
    createdAt: Date.now() / 1000,
    containerName: init.containerName,
    environment: init.environment,
    eniId: `eni-${id.slice(0, 17)}`,
  };
}

export interface TaskProcessOptions {
  /** Extra environment for every node (e.g. WC_CHROMIUM_PATH); the task's overrides win. */
  nodeEnv?: Record<string, string>;
  /** Where a node's output goes; default: this process's stderr, prefixed. */
  onOutput?: (task: Task, line: string) => void;
}

/** Starts the node process for a task and reports its exit. Returns a handle that stops it. */
export function startTaskProcess(
  task: Task,
  options: TaskProcessOptions,
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void,
): ChildProcess {
  const [command, ...args] = nodeCommand();
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      // Direct mode only (an edge-mode node listens on no port and reads neither): each node
      // takes a free port of its own on loopback and reports it in `ready`, as each Fargate task
      // has its own address; a task's override still wins.
      [NodeEnv.advertiseHost]: "127.0.0.1",
      [NodeEnv.proxyPort]: "0",
      // Local pages (and every test page) live on loopback; a Fargate task never sets this.
      [NodeEnv.egressAllowLoopback]: "1",
      ...options.nodeEnv,
      ...task.environment,
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, as a task is its own machine: a Ctrl-C meant for `npm run dev` reaches
    // the stand-in, which stops each node the way ECS would (SIGTERM, then SIGKILL).
    detached: true,
  });
  task.pid = child.pid;
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line) continue;
      if (options.onOutput) options.onOutput(task, line);
      else process.stderr.write(`[node ${task.taskArn.slice(-8)}] ${line}\n`);
    }
  };
  child.stdout!.on("data", forward);
  child.stderr!.on("data", forward);
  child.once("exit", (code, signal) => {
    // Whatever the node left behind (a Chromium it could not stop) dies with its task, as on Fargate.
    const memberId = task.environment[NodeEnv.memberId];
    if (memberId) killMemberProcesses(memberId);
    onExit(code, signal);
  });
  return child;
}
