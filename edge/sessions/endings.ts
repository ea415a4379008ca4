/**
 * How a session's end maps to its final status, whoever reports it (the node's exit on its link,
 * an ECS task-state event, or the edge's own check of the task), and to what its node is told
 * (the node closes the session's CDP clients with the close frame for its reason).
 */
import type { ExitReason } from "../node-protocol.ts";
import type { EcsTask } from "../aws/ecs-client.ts";
import type { FinalStatus, SessionRecord } from "./session-record.ts";

export function statusForExit(reason: ExitReason): FinalStatus {
  switch (reason) {
    case "released":
    case "idle":
      return "COMPLETED";
    case "timed-out":
    case "never-connected":
      return "TIMED_OUT";
    case "terminated":
    case "browser-crashed":
    case "not-ready":
    case "error":
      return "ERROR";
  }
}

/** A stopped task with no exit report: a clean exit completed, an expired session timed out, anything else failed. */
export function statusForStoppedTask(record: SessionRecord, task: Pick<EcsTask, "containers">, now: number): FinalStatus {
  if (now >= record.expiresAt) return "TIMED_OUT";
  const exitCode = task.containers?.find((c) => c.exitCode !== undefined)?.exitCode;
  return exitCode === 0 ? "COMPLETED" : "ERROR";
}

export function describeStoppedTask(task: Pick<EcsTask, "stopCode" | "stoppedReason">) {
  return `task stopped${task.stopCode ? ` (${task.stopCode})` : ""}${task.stoppedReason ? `: ${task.stoppedReason}` : ""}`;
}

/** The reason in the `end` the node gets over its link when the edge ends the session. */
export function endReasonFor(status: FinalStatus): ExitReason {
  if (status === "COMPLETED") return "released";
  if (status === "TIMED_OUT") return "timed-out";
  return "error";
}
