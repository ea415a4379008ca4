import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../../browser-node/local/tasks.ts";
import { NodeEnv } from "../../edge/node-protocol.ts";
import { memberProcesses, processesWithEnv } from "../../browser-node/local/processes.ts";

/** Runs `npm run dev` in its own process group, as a terminal would, collecting its output. */
function runDev(env: Record<string, string>) {
  const child = spawn("npm", ["run", "dev"], { env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const ctrlC = (child: ChildProcess) => process.kill(-child.pid!, "SIGINT");

describe("npm run dev", () => {
  it("starts the platform with preset ports and key, serves a session, and Ctrl-C leaves no process behind", async () => {
    const [port, ecsPort] = [await freePort(), await freePort()];
    const apiKey = `wc_test_${crypto.randomUUID().replaceAll("-", "")}`;
    const stateDir = mkdtempSync(join(tmpdir(), "wc-dev-state-"));
    const dev = runDev({ WALLCRAWLER_PORT: String(port), WALLCRAWLER_ECS_PORT: String(ecsPort), WALLCRAWLER_API_KEY: apiKey, WALLCRAWLER_STATE_DIR: stateDir });
    try {
      await expect.poll(dev.output, { timeout: 60_000 }).toContain("Wallcrawler is running");
      expect(dev.output()).toContain(`http://127.0.0.1:${port}`);
      expect(dev.output()).toContain(apiKey);
      const res = await fetch(`http://127.0.0.1:${port}/v1/sessions`, {
        method: "POST",
        headers: { "X-BB-API-Key": apiKey, "content-type": "application/json" },
        body: JSON.stringify({ keepAlive: true }),
      });
      expect(res.status).toBe(201);
      const session = (await res.json()) as { id: string; status: string };
      expect(session.status).toBe("RUNNING");
      // Every node of the platform (the session's and the warm pool's) carries a member id.
      expect(memberProcesses().length).toBeGreaterThan(0);

      // npm itself dies of the SIGINT; the platform behind it finishes stopping its nodes, then exits.
      ctrlC(dev.child);
      await dev.exited;
      await expect.poll(() => processesWithEnv("WALLCRAWLER_STATE_DIR", stateDir), { timeout: 30_000 }).toEqual([]);
      expect(processesWithEnv(NodeEnv.edgeUrl, `http://127.0.0.1:${port}`)).toEqual([]);
      expect(dev.output()).toContain("SIGINT: stopping");
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    } finally {
      try {
        process.kill(-dev.child.pid!, "SIGKILL");
      } catch {
        // the group is gone already: the good case
      }
    }
  });

  it("says in one line how to install Chromium when it is missing", async () => {
    const dev = runDev({ WC_CHROMIUM_PATH: "/nonexistent/chromium", WALLCRAWLER_PORT: String(await freePort()), WALLCRAWLER_ECS_PORT: String(await freePort()) });
    expect(await dev.exited).not.toBe(0);
    const lines = dev.output().split("\n").filter((l) => l.includes("Chromium"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/apt-get install -y chromium/);
  });
});
