/** Starts platform-process.ts and reads what it prints: its addresses, then its nodes' log lines. */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { repoRoot, type LocalPlatformOptions } from "../browser-node/local/platform.ts";

/** What a benchmark may set of the child's platform (the rest is as `npm run dev` has it). */
export type PlatformChildOptions = Pick<LocalPlatformOptions, "warmPoolSize" | "concurrency" | "logLevel">;

export interface PlatformChild {
  /** The platform process's pid: workerd and the nodes run below it. */
  pid: number;
  edgeUrl: string;
  apiKey: string;
  adminToken: string;
  /** The edge Worker's own socket in workerd, past the local front door, when the platform tells it. */
  workerdUrl?: string;
  /** The pool member serving a session, from its node's log lines (they carry both once it is assigned). */
  memberOf(sessionId: string): Promise<string>;
  /** Chromium's debugging port for a session, from its node's last `browser-started` line (a context relaunches it). */
  debugPort(sessionId: string): Promise<number>;
  /** Whether a task started for a session, or a member a session claimed, still runs. */
  sessionTasksBusy(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startPlatformChild(options: PlatformChildOptions = {}, onNodeLine?: (line: string) => void): Promise<PlatformChild> {
  const child = spawn(process.execPath, ["--import", "tsx", `${repoRoot}bench/platform-process.ts`, JSON.stringify(options)], {
    cwd: repoRoot,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines: Record<string, any>[] = [];
  const waiters = new Set<() => void>();
  /** `busy` questions in flight, answered in order. */
  const answers: Array<(busy: boolean) => void> = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith("{")) return; // the node bundle's build output
    let parsed: Record<string, any>;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof parsed.busy === "boolean" && Object.keys(parsed).length === 1) return answers.shift()?.(parsed.busy);
    onNodeLine?.(line);
    lines.push(parsed);
    for (const wake of waiters) wake();
  });
  const find = async <T>(pick: (line: Record<string, any>) => T | undefined, what: string): Promise<T> => {
    for (;;) {
      for (const line of lines) {
        const found = pick(line);
        if (found !== undefined) return found;
      }
      const more = new Promise<void>((resolve) => waiters.add(resolve));
      const outcome = await Promise.race([more.then(() => "line" as const), exited.then(() => "exit" as const)]);
      if (outcome === "exit") throw new Error(`the platform process exited before ${what}`);
      waiters.clear();
    }
  };
  const memberOf = (sessionId: string) =>
    find((l) => (l.sessionId === sessionId && typeof l.memberId === "string" ? (l.memberId as string) : undefined), `${sessionId}'s member`);
  const platform = await find((l) => l.platform as { edgeUrl: string; apiKey: string; workerdUrl?: string; adminToken: string } | undefined, "it was up");
  return {
    edgeUrl: new URL(platform.edgeUrl).origin,
    apiKey: platform.apiKey,
    adminToken: platform.adminToken,
    workerdUrl: platform.workerdUrl && new URL(platform.workerdUrl).origin,
    pid: child.pid!,
    memberOf,
    async debugPort(sessionId) {
      const memberId = await memberOf(sessionId);
      await find((l) => (l.event === "ready" && l.sessionId === sessionId ? true : undefined), `${sessionId}'s node was ready`);
      const started = lines.filter((l) => l.event === "browser-started" && l.memberId === memberId);
      return started[started.length - 1].debugPort as number;
    },
    sessionTasksBusy() {
      return new Promise((resolve) => {
        answers.push(resolve);
        child.stdin!.write("busy\n");
      });
    },
    async stop() {
      child.stdin!.end();
      await exited;
    },
  };
}
