/** Starts platform-process.ts and reads what it prints: its addresses, then its nodes' log lines. */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { repoRoot } from "../../browser-node/local/platform.ts";

export interface PlatformChild {
  /** The platform process's pid: workerd and the nodes run below it. */
  pid: number;
  edgeUrl: string;
  apiKey: string;
  /** The edge Worker's own socket in workerd, past the local front door, when the platform tells it. */
  workerdUrl?: string;
  /** The pool member serving a session, from its node's log lines (they carry both once it is assigned). */
  memberOf(sessionId: string): Promise<string>;
  /** Chromium's debugging port for a session, from its node's last `browser-started` line (a context relaunches it). */
  debugPort(sessionId: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startPlatformChild(): Promise<PlatformChild> {
  const child = spawn(process.execPath, ["--import", "tsx", `${repoRoot}bench/cdp-edge/platform-process.ts`], {
    cwd: repoRoot,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines: Record<string, any>[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith("{")) return; // the node bundle's build output
    try {
      lines.push(JSON.parse(line));
    } catch {
      return;
    }
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
  const platform = await find((l) => l.platform as { edgeUrl: string; apiKey: string; workerdUrl?: string } | undefined, "it was up");
  return {
    edgeUrl: new URL(platform.edgeUrl).origin,
    apiKey: platform.apiKey,
    workerdUrl: platform.workerdUrl && new URL(platform.workerdUrl).origin,
    pid: child.pid!,
    memberOf,
    async debugPort(sessionId) {
      const memberId = await memberOf(sessionId);
      await find((l) => (l.event === "ready" && l.sessionId === sessionId ? true : undefined), `${sessionId}'s node was ready`);
      const started = lines.filter((l) => l.event === "browser-started" && l.memberId === memberId);
      return started[started.length - 1].debugPort as number;
    },
    async stop() {
      child.stdin!.end();
      await exited;
    },
  };
}
