/**
 * Finds the processes that belong to one session by the WC_SESSION_ID in their environment.
 * Chromium inherits the node's environment, so this reaches every descendant even after the node
 * itself was SIGKILLed and Chromium was re-parented: the local platform's leak check and last resort.
 */
import { readdirSync, readFileSync } from "node:fs";
import { NodeEnv } from "../../edge/node-protocol.ts";

export function sessionProcesses(sessionId?: string): number[] {
  return processesWithEnv(NodeEnv.sessionId, sessionId);
}

/** Live processes whose environment sets `name` (to `value`, when given). */
export function processesWithEnv(name: string, value?: string): number[] {
  const needle = value === undefined ? `\0${name}=` : `\0${name}=${value}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "latin1");
      if (`\0${environ}\0`.includes(needle) && !isZombie(pid)) pids.push(pid);
    } catch {
      // gone already, or not ours to read
    }
  }
  return pids;
}

function isZombie(pid: number) {
  try {
    return /^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return true;
  }
}

export function killSessionProcesses(sessionId: string, signal: NodeJS.Signals = "SIGKILL") {
  for (const pid of sessionProcesses(sessionId)) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
