import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { dev, direct, EDGE_URL, logicalIdAt, REPO } from "./fixtures.ts";

const EDGE_VARS = [
  "ECS_REGION",
  "ECS_CLUSTER",
  "ECS_TASK_DEFINITION",
  "ECS_CONTAINER_NAME",
  "ECS_SUBNETS",
  "ECS_SECURITY_GROUPS",
  "ECS_ASSIGN_PUBLIC_IP",
  "EDGE_PUBLIC_URL",
  "CONNECT_MODE",
];

/** Renders an output value the way CloudFormation would, with placeholders for refs. */
function render(value: unknown): string {
  if (typeof value === "string") return value;
  const v = value as Record<string, any>;
  if (v["Fn::Join"]) return (v["Fn::Join"][1] as unknown[]).map(render).join(v["Fn::Join"][0]);
  if (v.Ref) return `<${v.Ref}>`;
  if (v["Fn::GetAtt"]) return `<${v["Fn::GetAtt"].join(".")}>`;
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

describe("outputs for the edge", () => {
  const { template } = dev();
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  const value = (name: string) => render(outputs[name]!.Value);

  it("name every edge variable the stack decides, and each is a var the Worker declares", () => {
    const toml = readFileSync(path.join(REPO, "wrangler.toml"), "utf8");
    const declared = new Set([...toml.split("[vars]")[1]!.matchAll(/^([A-Z_]+)\s*=/gm)].map((m) => m[1]));
    for (const name of EDGE_VARS) expect(declared).toContain(name);
  });

  it("give each value, resolved from the stack's resources", () => {
    const subnet = logicalIdAt(template, "Network/Vpc/publicSubnet1/Subnet");
    expect(value("EcsRegion")).toBe("<AWS::Region>");
    expect(value("EcsCluster")).toBe(`<${logicalIdAt(template, "BrowserNode/Cluster")}>`);
    expect(value("EcsTaskDefinition")).toBe("wallcrawler-browser-node");
    expect(value("EcsContainerName")).toBe("browser-node");
    expect(value("EcsSubnets")).toBe(`<${subnet}>`);
    expect(value("EcsSecurityGroups")).toBe(`<${logicalIdAt(template, "Network/BrowserNodes")}.GroupId>`);
    expect(value("EcsAssignPublicIp")).toBe("ENABLED");
    expect(value("EdgePublicUrl")).toBe(EDGE_URL);
    expect(value("ConnectMode")).toBe("edge");
    expect(value("EdgeCredentialsSecretArn")).toBe(`<${logicalIdAt(template, "Edge/Credentials")}>`);
    expect(value("TaskEventsSecretArn")).toBe(`<${logicalIdAt(template, "TaskEvents/Secret")}>`);
  });

  it("print the wrangler deploy command that sets all of them", () => {
    const command = value("WranglerDeployCommand");
    expect(command.startsWith("npx wrangler deploy ")).toBe(true);
    const vars = Object.fromEntries([...command.matchAll(/--var ([A-Z_]+):(\S+)/g)].map((m) => [m[1], m[2]]));
    expect(Object.keys(vars).sort()).toEqual([...EDGE_VARS].sort());
    expect(vars.ECS_TASK_DEFINITION).toBe(value("EcsTaskDefinition"));
    expect(vars.ECS_SUBNETS).toBe(value("EcsSubnets"));
    expect(vars.EDGE_PUBLIC_URL).toBe(EDGE_URL);
    expect(vars.CONNECT_MODE).toBe("edge");
  });

  it("hand the edge the stack's connect mode, so its connectUrls match what the nodes' security group lets in", () => {
    const outputs = direct().template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(render(outputs.ConnectMode!.Value)).toBe("direct");
    expect(render(outputs.WranglerDeployCommand!.Value)).toContain("--var CONNECT_MODE:direct");
  });

  it("print the commands that pipe both secrets into wrangler secret bulk, without their values", () => {
    const commands = value("WranglerSecretsCommand").split(" && ");
    expect(commands).toEqual(
      ["EdgeCredentialsSecretArn", "TaskEventsSecretArn"].map(
        (name) =>
          `aws secretsmanager get-secret-value --region <AWS::Region> --secret-id ${value(name)} --query SecretString --output text | npx wrangler secret bulk`,
      ),
    );
  });

  it("contain no secret material", () => {
    const text = JSON.stringify(outputs);
    expect(text).not.toMatch(/SecretAccessKey|resolve:secretsmanager|SecretString"/);
    for (const output of Object.values(outputs)) expect(JSON.stringify(output)).not.toContain("AccessKey");
  });
});
