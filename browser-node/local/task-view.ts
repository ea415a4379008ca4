/**
 * A task as the local ECS stand-in serves it: DescribeTasks' shape, minus every secret of its
 * environment.
 */
import { NodeEnv } from "../../edge/node-protocol.ts";
import type { Task } from "./tasks.ts";

/**
 * The environment variables whose values the stand-in may serve: the member's identity and the
 * edge's URL. Any other value (the bootstrap token, whatever is added later) is served as
 * REDACTED, so nothing new leaks by default.
 */
const SERVED_ENV: ReadonlySet<string> = new Set([NodeEnv.edgeUrl, NodeEnv.pool, NodeEnv.memberId, NodeEnv.reserved]);
export const REDACTED = "[redacted]";

/**
 * A task as ECS's DescribeTasks renders it (the fields the edge and the AWS SDKs read). Its
 * overrides keep their names, but only SERVED_ENV keep their values. AWS answers with the values;
 * the stand-in's API needs a signature too, but it sits on the loopback every local session's
 * browser shares, so it does not rest the nodes' tokens on that one check. Nobody reads them back.
 */
export function describeTask(task: Task) {
  return {
    taskArn: task.taskArn,
    clusterArn: task.clusterArn,
    taskDefinitionArn: task.taskDefinitionArn,
    launchType: "FARGATE",
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    startedBy: task.startedBy,
    group: task.group,
    createdAt: task.createdAt,
    startedAt: task.startedAt,
    stoppingAt: task.stoppingAt,
    stoppedAt: task.stoppedAt,
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    cpu: "1024",
    memory: "2048",
    attachments: [
      {
        id: task.eniId.replace("eni-", "attachment-"),
        type: "ElasticNetworkInterface",
        status: task.lastStatus === "STOPPED" ? "DELETED" : "ATTACHED",
        details: [
          { name: "networkInterfaceId", value: task.eniId },
          { name: "privateIPv4Address", value: "127.0.0.1" },
        ],
      },
    ],
    containers: [
      {
        name: task.containerName,
        lastStatus: task.lastStatus,
        exitCode: task.exitCode,
        networkInterfaces: [{ privateIpv4Address: "127.0.0.1" }],
      },
    ],
    overrides: {
      containerOverrides: [
        {
          name: task.containerName,
          environment: Object.entries(task.environment).map(([name, value]) => ({ name, value: SERVED_ENV.has(name) ? value : REDACTED })),
        },
      ],
    },
  };
}
