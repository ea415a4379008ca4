import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { NodeEnv } from "../../edge/node-protocol.ts";
import { dev, direct, logicalIdAt, only, prod, resourcesOf, synth } from "./fixtures.ts";

const taskDef = (t = dev().template) => only(t, "AWS::ECS::TaskDefinition").props;
const container = (t = dev().template) => taskDef(t).ContainerDefinitions[0];

/** Every IAM statement in the stack whose policy is attached to the given role. */
function statementsOfRole(t: ReturnType<typeof dev>["template"], roleId: string) {
  return Object.values(resourcesOf(t, "AWS::IAM::Policy"))
    .filter((p) => JSON.stringify(p.Properties!.Roles ?? []).includes(`"${roleId}"`))
    .flatMap((p) => p.Properties!.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>);
}

describe("browser node task", () => {
  it("is a Fargate x86_64 task of 1 vCPU / 2 GB in the family the edge names", () => {
    expect(taskDef()).toMatchObject({
      Family: "wallcrawler-browser-node",
      Cpu: "1024",
      Memory: "2048",
      NetworkMode: "awsvpc",
      RequiresCompatibilities: ["FARGATE"],
      RuntimePlatform: { CpuArchitecture: "X86_64", OperatingSystemFamily: "LINUX" },
    });
    expect(taskDef().ContainerDefinitions).toHaveLength(1);
  });

  it("switches to ARM64 (task and image platform) and other sizes by context", () => {
    const s = synth({ architecture: "arm64", cpu: "2048", memoryMiB: "8192" });
    expect(taskDef(s.template)).toMatchObject({ Cpu: "2048", Memory: "8192", RuntimePlatform: { CpuArchitecture: "ARM64" } });
    const assets = JSON.parse(readFileSync(path.join(s.outdir, `${s.stackName}.assets.json`), "utf8"));
    const images = Object.values(assets.dockerImages) as Array<{ source: Record<string, string> }>;
    expect(images.map((i) => i.source.platform)).toEqual(["linux/arm64"]);
    const x86 = JSON.parse(readFileSync(path.join(dev().outdir, `${dev().stackName}.assets.json`), "utf8"));
    expect((Object.values(x86.dockerImages) as Array<{ source: Record<string, string> }>)[0]!.source).toMatchObject({
      dockerFile: "browser-node/Dockerfile",
      platform: "linux/amd64",
    });
  });

  it("runs one container browser-node with an init process, a long stop timeout, awslogs and, in edge mode, no port", () => {
    const c = container();
    expect(c).toMatchObject({
      Name: "browser-node",
      Essential: true,
      LinuxParameters: { InitProcessEnabled: true },
      StopTimeout: 120,
      LogConfiguration: { LogDriver: "awslogs", Options: { "awslogs-stream-prefix": "browser-node" } },
    });
    expect(c.PortMappings ?? []).toEqual([]);
    expect(container(prod().template).PortMappings ?? []).toEqual([]);
    expect(c.Image).toEqual({ "Fn::Sub": expect.stringContaining("container-assets") });
  });

  it("maps the CDP proxy's port 9223 in direct mode", () => {
    expect(container(direct().template).PortMappings).toEqual([{ ContainerPort: 9223, Protocol: "tcp" }]);
  });

  it("sets no session-specific environment: only direct mode's proxy port (the connect mode comes with each assignment)", () => {
    expect(container().Environment ?? []).toEqual([]);
    expect(container(direct().template).Environment).toEqual([{ Name: NodeEnv.proxyPort, Value: "9223" }]);
    expect(container().Secrets).toBeUndefined();
  });

  it("gives the task role no permissions at all", () => {
    const { template } = dev();
    const roleId = logicalIdAt(template, "BrowserNode/TaskRole");
    const role = template.toJSON().Resources[roleId].Properties;
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
    expect(statementsOfRole(template, roleId)).toEqual([]);
    expect(taskDef().TaskRoleArn).toEqual({ "Fn::GetAtt": [roleId, "Arn"] });
  });

  it("lets the execution role only pull the image and write this task's logs", () => {
    const { template } = dev();
    const roleId = logicalIdAt(template, "BrowserNode/ExecutionRole");
    const role = template.toJSON().Resources[roleId].Properties;
    expect(role.ManagedPolicyArns).toBeUndefined();
    const actions = statementsOfRole(template, roleId).flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual([
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetAuthorizationToken",
      "ecr:GetDownloadUrlForLayer",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]);
    const logGroupId = logicalIdAt(template, "BrowserNode/Logs");
    const logs = statementsOfRole(template, roleId).find((s) => [s.Action].flat().includes("logs:PutLogEvents"));
    expect(logs!.Resource).toEqual({ "Fn::GetAtt": [logGroupId, "Arn"] });
    expect(container().LogConfiguration.Options["awslogs-group"]).toEqual({ Ref: logGroupId });
  });

  it("keeps logs a week in dev (deleted with the stack) and 90 days in prod (retained)", () => {
    const retention = (t: ReturnType<typeof dev>["template"]) =>
      Object.values(t.toJSON().Resources as Record<string, any>)
        .filter((r) => r.Type === "AWS::Logs::LogGroup")
        .map((r) => [r.Properties.RetentionInDays, r.DeletionPolicy]);
    expect(retention(dev().template)).toEqual([[7, "Delete"]]);
    expect(retention(prod().template)).toEqual([
      [90, "Retain"],
      [90, "Retain"],
    ]);
  });

  it("names the cluster after the deployment and enables Container Insights only in prod", () => {
    const settings = (t: ReturnType<typeof dev>["template"]) => only(t, "AWS::ECS::Cluster").props;
    expect(settings(dev().template)).toEqual({ ClusterName: "wallcrawler", ClusterSettings: [{ Name: "containerInsights", Value: "disabled" }] });
    expect(settings(prod().template).ClusterSettings).toEqual([{ Name: "containerInsights", Value: "enabled" }]);
    expect(only(synth({ name: "wc-staging" }).template, "AWS::ECS::Cluster").props.ClusterName).toBe("wc-staging");
  });
});
