/**
 * What a dropped node link means (docs/node-link.md). ECS is asked about the task at once: a
 * stopped task, or one ECS no longer knows, settles the session now; a running one (or an ECS
 * that cannot answer) leaves the node LINK_RECONNECT_GRACE_MS to redial, after which the
 * session's alarm ends it in ERROR and stops the task.
 */
import { log } from "../log.ts";
import type { EcsClient, EcsTask } from "../aws/ecs-client.ts";
import { describeStoppedTask, statusForStoppedTask } from "../sessions/endings.ts";
import type { FinalStatus, SessionRecord } from "../sessions/session-record.ts";

export type LinkLossVerdict =
  | { settled: false }
  | {
      settled: true;
      status: FinalStatus;
      /** Why, in the words of the task's stop. */
      why: string;
      /** Whether the edge still owes a StopTask (ECS may have only asked the task to stop). */
      stop: boolean;
    };

export async function judgeLinkLoss(r: SessionRecord, ecs: () => EcsClient): Promise<LinkLossVerdict> {
  let task: EcsTask | undefined;
  try {
    if (!r.taskArn) return { settled: false }; // RunTask still in flight: the task has not even started
    task = await ecs().describeTask(r.taskArn);
  } catch (error) {
    log("warn", "session.task_check_failed", { sessionId: r.id, error: String(error) });
    return { settled: false };
  }
  if (task && task.lastStatus !== "STOPPED" && task.desiredStatus !== "STOPPED") return { settled: false };
  return {
    settled: true,
    status: statusForStoppedTask(r, task ?? {}, Date.now()),
    why: task ? describeStoppedTask(task) : "ECS no longer knows the task",
    stop: task?.lastStatus !== "STOPPED",
  };
}
