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
    expect(standIn.calls.filter((c) => c.status === 403).length).toBeGreaterThanOrEqual(2);
  });

  it("answers no action, ECS or EC2, known or not, without a valid signature, and changes nothing", async () => {
    const { tasks } = await json(await runTask(crypto.randomUUID()));
    const before = standIn.tasks.size;
    const wrongSecret = new AwsClient({ ...credentials, secretAccessKey: "nope", region, service: "ecs", retries: 0 });
    const ecsBodies: Record<string, unknown> = {
      RunTask: { taskDefinition: "td", launchType: "FARGATE", networkConfiguration: { awsvpcConfiguration: { subnets: ["s"] } } },
      StopTask: { task: tasks[0].taskArn },
      DescribeTasks: { tasks: [tasks[0].taskArn] },
      ListTasks: {},
    };
    for (const [action, body] of Object.entries(ecsBodies)) {
      const unsigned = await fetch(standIn.url, { method: "POST", headers: { "x-amz-target": ecsTarget(action) }, body: JSON.stringify(body) });
      expect([unsigned.status, (await json(unsigned)).__type], action).toEqual([400, "MissingAuthenticationTokenException"]);
      const forged = await call(action, body, wrongSecret);
      expect([forged.status, (await json(forged)).__type], action).toEqual([403, "InvalidSignatureException"]);
    }
    const wrongEc2 = new AwsClient({ ...credentials, secretAccessKey: "nope", region, service: "ec2", retries: 0 });
    for (const action of ["DescribeNetworkInterfaces", "RunInstances"]) {
      const form = new URLSearchParams({ Action: action, Version: "2016-11-15" }).toString();
      const headers = { "content-type": "application/x-www-form-urlencoded" };
      const unsigned = await fetch(standIn.url, { method: "POST", headers, body: form });
      expect(unsigned.status, action).toBe(400);
      expect(await unsigned.text()).toContain("<Code>MissingAuthenticationTokenException</Code>");
      const forged = await wrongEc2.fetch(standIn.url, { method: "POST", headers, body: form });
      expect(forged.status, action).toBe(403);
      expect(await forged.text()).toContain("<Code>InvalidSignatureException</Code>");
      expect(await (await fetch(`${standIn.url}/?${form}`)).text()).toContain("MissingAuthenticationTokenException");
    }
    expect(standIn.tasks.size).toBe(before);
    expect(standIn.tasks.get(tasks[0].taskArn)!.desiredStatus).toBe("RUNNING");
  });

  it("serves no task's bootstrap or link token, nor any variable it does not know to be public, from anything it answers", async () => {
    // A page in any local session's browser can reach the stand-in on loopback: whatever it
    // answers, signed or not, must be useless for acting as another session's node.
    const nodeToken = `bootstrap-token-${crypto.randomUUID()}`;
    const linkToken = `link-token-${crypto.randomUUID()}`;
    const unknownSecret = `later-secret-${crypto.randomUUID()}`;
    const sessionId = crypto.randomUUID();
    const served: Array<[string, string]> = [];
    const keep = async (what: string, res: Response) => {
      const text = await res.text();
      served.push([what, text]);
      return { status: res.status, text };
    };
    const run = {
      cluster: "wc",
      taskDefinition: "browser-node",
      launchType: "FARGATE",
      clientToken: sessionId,
      startedBy: `wc-${sessionId}`,
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"] } },
      overrides: {
        containerOverrides: [
          {
            name: "browser-node",
            environment: [
              { name: "WC_MEMBER_ID", value: sessionId },
              { name: "WC_BOOTSTRAP_TOKEN", value: nodeToken },
              { name: "WC_LINK_TOKEN", value: linkToken },
              { name: "WC_SOMETHING_NEW", value: unknownSecret },
            ],
          },
        ],
      },
    };
    const started = JSON.parse((await keep("RunTask", await call("RunTask", run))).text);
    await keep("RunTask again", await call("RunTask", run));
    const taskArn = started.tasks[0].taskArn;
    await expect.poll(() => standIn.tasks.get(taskArn)?.lastStatus).toBe("RUNNING");
    const described = JSON.parse((await keep("DescribeTasks", await call("DescribeTasks", { cluster: "wc", tasks: [taskArn] }))).text);
    expect(described.tasks[0].overrides.containerOverrides[0].environment).toEqual([
      { name: "WC_MEMBER_ID", value: sessionId },
      { name: "WC_BOOTSTRAP_TOKEN", value: "[redacted]" },
      { name: "WC_LINK_TOKEN", value: "[redacted]" },
      { name: "WC_SOMETHING_NEW", value: "[redacted]" },
    ]);
    const form = new URLSearchParams({ Action: "DescribeNetworkInterfaces", Version: "2016-11-15" }).toString();
    await keep("DescribeNetworkInterfaces", await ec2.fetch(standIn.url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form }));
    await keep("StopTask", await call("StopTask", { cluster: "wc", task: taskArn }));
    // What a page could ask for without any credentials: none of it is answered.
    for (const path of ["/_standin/tasks", "/_standin/calls", "/", `/${taskArn}`]) {
      const { status } = await keep(`GET ${path}`, await fetch(`${standIn.url}${path}`));
      expect(status, path).toBeGreaterThanOrEqual(400);
    }
    await keep("unsigned DescribeTasks", await fetch(standIn.url, { method: "POST", headers: { "x-amz-target": ecsTarget("DescribeTasks") }, body: JSON.stringify({ tasks: [taskArn] }) }));
    await expect.poll(() => events.some((e) => e.event.detail.taskArn === taskArn && e.event.detail.lastStatus === "STOPPED")).toBe(true);
    for (const e of events.filter((e) => e.event.detail.taskArn === taskArn)) served.push(["task event", JSON.stringify(e.event)]);

    expect(served.length).toBeGreaterThan(10);
    for (const [what, text] of served) {
      expect(text, what).not.toContain(nodeToken);
      expect(text, what).not.toContain(linkToken);
      expect(text, what).not.toContain(unknownSecret);
    }
    // The token is there all the same, for the in-process test that plays the node.
    expect(standIn.tasks.get(taskArn)!.environment.WC_BOOTSTRAP_TOKEN).toBe(nodeToken);
    expect(standIn.tasks.get(taskArn)!.environment.WC_LINK_TOKEN).toBe(linkToken);
  });
});
