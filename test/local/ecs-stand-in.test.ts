import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { startEcsStandIn, type EcsStandIn } from "../../browser-node/local/ecs-stand-in.ts";

const region = "us-east-1";
const credentials = { accessKeyId: "AKIDSTANDINTEST", secretAccessKey: crypto.randomUUID() };
const json = (res: Response): Promise<any> => res.json();
const ecsTarget = (action: string) => `AmazonEC2ContainerServiceV20141113.${action}`;

describe("local ECS stand-in (record runner)", () => {
  let standIn: EcsStandIn;
  let events: any[] = [];
  let eventServer: Server;
  const ecs = new AwsClient({ ...credentials, region, service: "ecs", retries: 0 });
  const ec2 = new AwsClient({ ...credentials, region, service: "ec2", retries: 0 });
  const call = (action: string, body: unknown, client = ecs) =>
    client.fetch(standIn.url, {
      method: "POST",
      headers: { "x-amz-target": ecsTarget(action), "content-type": "application/x-amz-json-1.1" },
      body: JSON.stringify(body),
    });
  const runTask = (clientToken: string) =>
    call("RunTask", {
      cluster: "wc",
      taskDefinition: "browser-node",
      launchType: "FARGATE",
      clientToken,
      startedBy: `wc-${clientToken}`,
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"], securityGroups: ["sg-1"], assignPublicIp: "ENABLED" } },
      overrides: { containerOverrides: [{ name: "browser-node", environment: [{ name: "WC_SESSION_ID", value: clientToken }] }] },
    });

  beforeAll(async () => {
    eventServer = createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      events.push({ secret: req.headers["x-wc-events-secret"], event: JSON.parse(body) });
      res.end("{}");
    });
    await new Promise<void>((resolve) => eventServer.listen(0, "127.0.0.1", resolve));
    const { port } = eventServer.address() as { port: number };
    standIn = await startEcsStandIn({
      region,
      credentials,
      runner: "record",
      taskEvents: { url: `http://127.0.0.1:${port}/internal/ecs/task-events`, secret: "events-secret" },
    });
  });
  afterAll(async () => {
    await standIn.close();
    eventServer.close();
  });

  it("runs a task once per client token and describes it with its ENI", async () => {
    const token = crypto.randomUUID();
    const first = await json(await runTask(token));
    const again = await json(await runTask(token));
    expect(first.failures).toEqual([]);
    expect(again.tasks[0].taskArn).toBe(first.tasks[0].taskArn);
    expect(standIn.tasks.size).toBe(1);
    await expect.poll(async () => (await json(await call("DescribeTasks", { cluster: "wc", tasks: [first.tasks[0].taskArn] }))).tasks[0].lastStatus).toBe("RUNNING");
    const described = await json(await call("DescribeTasks", { cluster: "wc", tasks: [first.tasks[0].taskArn, "arn:aws:ecs:us-east-1:000000000000:task/wc/nope"] }));
    expect(described.failures).toEqual([{ arn: "arn:aws:ecs:us-east-1:000000000000:task/wc/nope", reason: "MISSING" }]);
    const eni = described.tasks[0].attachments[0].details.find((d: any) => d.name === "networkInterfaceId").value;
    const xml = await (
      await ec2.fetch(standIn.url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ Action: "DescribeNetworkInterfaces", Version: "2016-11-15", "NetworkInterfaceId.1": eni }).toString(),
      })
    ).text();
    expect(xml).toContain(`<networkInterfaceId>${eni}</networkInterfaceId>`);
    expect(xml).toContain("<publicIp>127.0.0.1</publicIp>");
  });

  it("stops a task and posts the state changes EventBridge would", async () => {
    const token = crypto.randomUUID();
    const { tasks } = await json(await runTask(token));
    const stopped = await json(await call("StopTask", { cluster: "wc", task: tasks[0].taskArn, reason: "released" }));
    expect(stopped.task.desiredStatus).toBe("STOPPED");
    await expect
      .poll(() => events.filter((e) => e.event.detail.taskArn === tasks[0].taskArn).map((e) => e.event.detail.lastStatus))
      .toContain("STOPPED");
    const last = events.filter((e) => e.event.detail.taskArn === tasks[0].taskArn).at(-1);
    expect(last.secret).toBe("events-secret");
    expect(last.event).toMatchObject({ "detail-type": "ECS Task State Change", source: "aws.ecs" });
    expect(last.event.detail).toMatchObject({ stopCode: "UserInitiated", stoppedReason: "released", startedBy: `wc-${token}` });
  });

  it("rejects bad signatures, unknown keys and bad input the way AWS does", async () => {
    const wrongSecret = new AwsClient({ ...credentials, secretAccessKey: "nope", region, service: "ecs", retries: 0 });
    const bad = await call("DescribeTasks", { tasks: [] }, wrongSecret);
    expect(bad.status).toBe(403);
    expect(await json(bad)).toMatchObject({ __type: "InvalidSignatureException" });
    const unknown = new AwsClient({ accessKeyId: "AKIDOTHER", secretAccessKey: "x", region, service: "ecs", retries: 0 });
    expect(await json(await call("DescribeTasks", { tasks: [] }, unknown))).toMatchObject({ __type: "UnrecognizedClientException" });
    const wrongRegion = new AwsClient({ ...credentials, region: "eu-central-1", service: "ecs", retries: 0 });
    expect((await call("DescribeTasks", { tasks: [] }, wrongRegion)).status).toBe(403);
    const unsigned = await fetch(standIn.url, { method: "POST", headers: { "x-amz-target": ecsTarget("DescribeTasks") }, body: "{}" });
    expect(unsigned.status).toBe(400);
    expect(await json(unsigned)).toMatchObject({ __type: "MissingAuthenticationTokenException" });
    const colon = await call("RunTask", { taskDefinition: "td", startedBy: "wc:x", launchType: "FARGATE", networkConfiguration: { awsvpcConfiguration: { subnets: ["s"] } } });
    expect(colon.status).toBe(400);
    expect(await json(colon)).toMatchObject({ __type: "InvalidParameterException" });
    const calls = await json(await fetch(`${standIn.url}/_standin/calls`));
    expect(calls.filter((c: any) => c.status === 403).length).toBeGreaterThanOrEqual(2);
  });
});
