/**
 * The node's one reader of /proc (browser-node/chromium/process-table.ts), on real processes: found
 * by process group, command line or environment, never when a zombie, never the caller itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { liveProcesses } from "../../../browser-node/chromium/process-table.ts";
import { processesWithEnv } from "../../../browser-node/local/processes.ts";

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.pid) process.kill(-child.pid, "SIGKILL");
});

/** A mark for one test's processes: a number, as `sleep` takes only numbers for arguments. */
const newMark = () => String(100_000 + Math.floor(Math.random() * 900_000));

/**
 * A process group led by `sleep`, holding a zombie: the shell starts a child and execs into a
 * `sleep` that never waits for it. The group's id is the leader's pid.
 */
async function groupWithZombie(mark: string) {
  const child = spawn("sh", ["-c", `sleep 0 & exec sleep 100 ${mark}`], { detached: true, stdio: "ignore", env: { ...process.env, WC_TEST_MARK: mark } });
  started.push(child);
  const pid = child.pid!;
  await expect.poll(() => zombiesIn(pid).length).toBe(1);
  return pid;
}

/** Zombies of group `pgid`, read from /proc without the module under test. */
function zombiesIn(pgid: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return fields[0] === "Z" && Number(fields[2]) === pgid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("liveProcesses", () => {
  it("finds a group's live processes but not its zombie", async () => {
    const mark = newMark();
    const pid = await groupWithZombie(mark);
    expect(liveProcesses({ pgid: pid })).toEqual([{ pid, pgid: pid, state: expect.stringMatching(/^[RSD]$/) }]);
  });

  it("finds a process by its command line and by its environment, and nothing for a mark nobody has", async () => {
    const mark = newMark();
    const pid = await groupWithZombie(mark);
    expect(liveProcesses({ needle: `sleep 100 ${mark}` }).map((p) => p.pid)).toEqual([pid]);
    expect(liveProcesses({ environ: `\0WC_TEST_MARK=${mark}\0` }).map((p) => p.pid)).toEqual([pid]);
    expect(processesWithEnv("WC_TEST_MARK", mark)).toEqual([pid]);
    expect(processesWithEnv("WC_TEST_MARK", mark.slice(0, -1))).toEqual([]);
    expect(liveProcesses({ needle: randomUUID(), environ: `\0${randomUUID()}=` })).toEqual([]);
  });

  it("leaves out the process asking, whatever matches it", () => {
    expect(liveProcesses({ pgid: process.pid, needle: process.argv[1] }).map((p) => p.pid)).not.toContain(process.pid);
  });
});
