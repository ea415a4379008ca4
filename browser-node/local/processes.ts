/**
 * Finds the processes of one pool member (one node: it serves at most one session) by the
 * WC_MEMBER_ID in their environment. Chromium inherits the node's environment, so this reaches
 * every descendant even after the node itself was SIGKILLed and Chromium was re-parented: the
 * local platform's leak check and last resort. A member's session is known only to the edge
 * (docs/pool.md): a member reserved for a session has the session's id; a warm one is found
 * through the admin pools view (`GET /admin/pools`, its `sessionId`).
 */
import { NodeEnv } from "../../edge/node-protocol.ts";
import { liveProcesses } from "../chromium/process-table.ts";

export function memberProcesses(memberId?: string): number[] {
  return processesWithEnv(NodeEnv.memberId, memberId);
}

/** Live processes whose environment sets `name` (to `value`, when given). */
export function processesWithEnv(name: string, value?: string): number[] {
  const environ = value === undefined ? `\0${name}=` : `\0${name}=${value}\0`;
  return liveProcesses({ environ }).map((entry) => entry.pid);
}

export function killMemberProcesses(memberId: string, signal: NodeJS.Signals = "SIGKILL") {
  for (const pid of memberProcesses(memberId)) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
