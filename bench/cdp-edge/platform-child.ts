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
  /** Chromium's debugging port for a session, from its node's `browser-started` line. */
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
  const platform = await find((l) => l.platform as { edgeUrl: string; apiKey: string; workerdUrl?: string } | undefined, "it was up");
  return {
    edgeUrl: new URL(platform.edgeUrl).origin,
    apiKey: platform.apiKey,
    workerdUrl: platform.workerdUrl && new URL(platform.workerdUrl).origin,
    pid: child.pid!,
    debugPort: (sessionId) =>
      find((l) => (l.event === "browser-started" && l.sessionId === sessionId ? (l.debugPort as number) : undefined), `${sessionId}'s browser started`),
    async stop() {
      child.stdin!.end();
      await exited;
    },
  };
}
