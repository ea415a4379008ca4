/**
 * The ECS and EC2 calls the edge makes, through one signed, retrying caller. Works against AWS
 * and, with ECS_ENDPOINT / EC2_ENDPOINT set, against the local stand-in or moto.
 */
import { AwsCaller, AwsError, xmlText, type AwsCredentials, type RetryPolicy } from "./aws-call.ts";
import type { EdgeConfig } from "../config.ts";

const ECS_TARGET = "AmazonEC2ContainerServiceV20141113";

export interface EcsTask {
  taskArn: string;
  lastStatus: string;
  desiredStatus?: string;
  stopCode?: string;
  stoppedReason?: string;
  attachments?: { type?: string; details?: { name: string; value: string }[] }[];
  containers?: { name?: string; exitCode?: number; reason?: string }[];
}

export interface RunTaskInput {
  /** The session id: RunTask's clientToken, so a repeated call returns the same task. */
  clientToken: string;
  startedBy: string;
  environment: Record<string, string>;
}

export class EcsClient {
  private readonly aws: AwsCaller;
  constructor(
    private readonly config: EdgeConfig["ecs"],
    credentials: AwsCredentials,
    retry?: RetryPolicy,
  ) {
    this.aws = new AwsCaller(credentials, config.region, retry);
  }

  private async ecs<T>(action: string, body: unknown): Promise<T> {
    const text = await this.aws.call({
      service: "ecs",
      action,
      url: this.config.ecsEndpoint,
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `${ECS_TARGET}.${action}` },
      body: JSON.stringify(body),
    });
    return JSON.parse(text) as T;
  }

  /** Starts the session's task. ECS may answer 200 with `failures` and no task: that is an error too. */
  async runTask(input: RunTaskInput): Promise<EcsTask> {
    const c = this.config;
    const answer = await this.ecs<{ tasks?: EcsTask[]; failures?: { arn?: string; reason?: string; detail?: string }[] }>("RunTask", {
      cluster: c.cluster,
      taskDefinition: c.taskDefinition,
      launchType: "FARGATE",
      count: 1,
      clientToken: input.clientToken,
      startedBy: input.startedBy,
      networkConfiguration: {
        awsvpcConfiguration: { subnets: c.subnets, securityGroups: c.securityGroups, assignPublicIp: c.assignPublicIp },
      },
      overrides: {
        containerOverrides: [
          { name: c.containerName, environment: Object.entries(input.environment).map(([name, value]) => ({ name, value })) },
        ],
      },
    });
    const task = answer.tasks?.[0];
    if (answer.failures?.length || !task?.taskArn) {
      const f = answer.failures?.[0];
      const why = f ? [f.reason, f.detail].filter(Boolean).join(": ") : "no task in the answer";
      // Capacity shortfalls pass; a bad task definition or missing resource does not.
      const transient = /capacity|RESOURCE:|AGENT|throttl/i.test(why);
      throw new AwsError("ecs", "RunTask", "RunTaskFailure", why, transient, 200);
    }
    return task;
  }

  async stopTask(taskArn: string, reason: string): Promise<void> {
    try {
      await this.ecs("StopTask", { cluster: this.config.cluster, task: taskArn, reason: reason.slice(0, 255) });
    } catch (error) {
      // A task ECS no longer knows is as stopped as it gets.
      if (error instanceof AwsError && /not found|MISSING/i.test(error.message)) return;
      throw error;
    }
  }

  /** The task, or undefined when ECS no longer knows it. */
  async describeTask(taskArn: string): Promise<EcsTask | undefined> {
    const answer = await this.ecs<{ tasks?: EcsTask[] }>("DescribeTasks", { cluster: this.config.cluster, tasks: [taskArn] });
    return answer.tasks?.find((t) => t.taskArn === taskArn) ?? answer.tasks?.[0];
  }

  /**
   * Where clients reach the task: its public IP (ENI id from DescribeTasks, then EC2
   * DescribeNetworkInterfaces), or its private IP when tasks get no public address.
   */
  async taskHost(taskArn: string): Promise<string> {
    const task = await this.describeTask(taskArn);
    const details = task?.attachments?.find((a) => a.type === "ElasticNetworkInterface")?.details ?? [];
    const detail = (name: string) => details.find((d) => d.name === name)?.value;
    if (this.config.assignPublicIp === "DISABLED") {
      const ip = detail("privateIPv4Address");
      if (ip) return ip;
      throw new AwsError("ecs", "DescribeTasks", "NoPrivateIp", `task ${taskArn} has no private IPv4 address yet`, true);
    }
    const eni = detail("networkInterfaceId");
    if (!eni) throw new AwsError("ecs", "DescribeTasks", "NoNetworkInterface", `task ${taskArn} has no network interface yet`, true);
    const xml = await this.aws.call({
      service: "ec2",
      action: "DescribeNetworkInterfaces",
      url: this.config.ec2Endpoint,
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: new URLSearchParams({ Action: "DescribeNetworkInterfaces", Version: "2016-11-15", "NetworkInterfaceId.1": eni }).toString(),
    });
    const association = /<association>([\s\S]*?)<\/association>/.exec(xml)?.[1] ?? "";
    const ip = xmlText(association, "publicIp");
    if (!ip) throw new AwsError("ec2", "DescribeNetworkInterfaces", "NoPublicIp", `network interface ${eni} has no public IP`, false);
    return ip;
  }
}
