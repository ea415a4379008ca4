import { describe, expect, inject, it } from "vitest";
import { AwsError } from "../../edge/aws/aws-call.ts";
import { EcsClient } from "../../edge/aws/ecs-client.ts";
import type { EdgeConfig } from "../../edge/config.ts";

// The same ECS client the edge uses, against moto_server: an implementation of ECS and EC2 that
// owes nothing to ours, with SigV4 and IAM checks on.
const moto = inject("moto");
const config = (overrides: Partial<EdgeConfig["ecs"]> = {}): EdgeConfig["ecs"] => ({
  region: moto.region,
  cluster: "wallcrawler",
  taskDefinition: "wallcrawler-browser-node",
  containerName: "browser-node",
  subnets: [moto.subnet],
  securityGroups: [moto.securityGroup],
  assignPublicIp: "ENABLED",
  ecsEndpoint: moto.url,
  ec2Endpoint: moto.url,
  ...overrides,
});
const fast = { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 };
const input = (id = crypto.randomUUID()) => ({ clientToken: id, startedBy: `wc-${id}`, environment: { WC_SESSION_ID: id } });

describe("the ECS client against moto", () => {
  it("runs, describes and stops a task", async () => {
    const ecs = new EcsClient(config(), moto.allowed, fast);
    const task = await ecs.runTask(input());
    expect(task.taskArn).toMatch(/^arn:aws:ecs:us-east-1:\d+:task\/wallcrawler\//);
    const described = await ecs.describeTask(task.taskArn);
    expect(described).toMatchObject({ taskArn: task.taskArn, desiredStatus: "RUNNING" });
    expect(described?.attachments?.[0]?.type).toBe("ElasticNetworkInterface");
    await ecs.stopTask(task.taskArn, "test");
    expect((await ecs.describeTask(task.taskArn))?.desiredStatus).toBe("STOPPED");
  });

  it("finds the task's address through its network interface", async () => {
    const task = await new EcsClient(config(), moto.allowed, fast).runTask(input());
    // moto gives ENIs no public IP: a clear error rather than a wrong address.
    const publicIp = new EcsClient(config(), moto.allowed, fast).taskHost(task.taskArn);
    await expect(publicIp).rejects.toMatchObject({ code: "NoPublicIp", service: "ec2", transient: false });
    const privateIp = await new EcsClient(config({ assignPublicIp: "DISABLED" }), moto.allowed, fast).taskHost(task.taskArn);
    expect(privateIp).toMatch(/^10\.\d+\.\d+\.\d+$/);
  });

  it("reports an IAM denial clearly and does not retry it", async () => {
    const denied = new EcsClient(config(), moto.denied, fast);
    const error = await denied.runTask(input()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsError);
    expect(error).toMatchObject({ service: "ecs", action: "RunTask", transient: false, httpStatus: 403 });
    expect((error as AwsError).code).toMatch(/AccessDenied/);
    expect((error as AwsError).message).toMatch(/^ECS RunTask failed: AccessDenied\w*: .*ecs:RunTask/);
  });

  it("reports a wrong secret key as a signature mismatch", async () => {
    const forged = new EcsClient(config(), { ...moto.allowed, secretAccessKey: "not-the-secret" }, fast);
    await expect(forged.describeTask("arn:aws:ecs:us-east-1:123456789012:task/wallcrawler/x")).rejects.toMatchObject({
      code: "SignatureDoesNotMatch",
      transient: false,
    });
  });

  it("treats a task ECS does not know as gone", async () => {
    const ecs = new EcsClient(config(), moto.allowed, fast);
    expect(await ecs.describeTask("arn:aws:ecs:us-east-1:123456789012:task/wallcrawler/00000000000000000000000000000000")).toBeUndefined();
  });
});

describe("the ECS client against the stand-in", () => {
  it("gets the same task back for a repeated clientToken", async () => {
    const secrets = inject("secrets");
    const ecs = new EcsClient(
      config({ ecsEndpoint: inject("standInUrl"), ec2Endpoint: inject("standInUrl") }),
      { accessKeyId: secrets.AWS_ACCESS_KEY_ID, secretAccessKey: secrets.AWS_SECRET_ACCESS_KEY },
      fast,
    );
    const same = input();
    const [first, second] = [await ecs.runTask(same), await ecs.runTask(same)];
    expect(second.taskArn).toBe(first.taskArn);
    expect(await ecs.taskHost(first.taskArn)).toBe("127.0.0.1");
  });
});
