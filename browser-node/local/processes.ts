/**
 * Finds the processes that belong to one session by the WC_SESSION_ID in their environment.
 * Chromium inherits the node's environment, so this reaches every descendant even after the node
 * itself was SIGKILLed and Chromium was re-parented: the local platform's leak check and last resort.
 */
import { NodeEnv } from "../../edge/node-protocol.ts";
import { liveProcesses } from "../chromium/process-table.ts";

export function sessionProcesses(sessionId?: string): number[] {
  return processesWithEnv(NodeEnv.sessionId, sessionId);
}

/** Live processes whose environment sets `name` (to `value`, when given). */
export function processesWithEnv(name: string, value?: string): number[] {
  const environ = value === undefined ? `\0${name}=` : `\0${name}=${value}\0`;
  return liveProcesses({ environ }).map((entry) => entry.pid);
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
