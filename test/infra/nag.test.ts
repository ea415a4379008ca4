import { Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { dev, direct, newApp, prod, synth } from "./fixtures.ts";

/** Every cdk-nag acknowledgement in the stack as "construct path: rule id", with its reason. */
function acknowledgements(stack: ReturnType<typeof dev>["stack"]): Map<string, string> {
  const found = new Map<string, string>();
  for (const construct of stack.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        const rule = id.replace(/^Annotation::/, "");
        if (rule.startsWith("AwsSolutions-")) found.set(`${construct.node.path}: ${rule}`, reason);
      }
    }
  }
  return found;
}

describe("cdk-nag AwsSolutionsChecks", () => {
  it("passes in both modes (the fixtures' synth throws on any unacknowledged finding)", () => {
    expect(dev().template.toJSON().Resources).toBeTruthy();
    expect(prod().template.toJSON().Resources).toBeTruthy();
  });

  it("fails the synth on a finding nobody acknowledged", () => {
    const { app, stack } = newApp({ mode: "prod" });
    stack.browserNode.taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: ["*"] }),
    );
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5/);
  });

  it("acknowledges only these findings, where they arise, each with a reason", () => {
    const both = [
      "wallcrawler/BrowserNode/ExecutionRole: AwsSolutions-IAM5[Resource::*]",
      "wallcrawler/BrowserNode/TaskDefinition: AwsSolutions-ECS2",
      "wallcrawler/Edge/Policy: AwsSolutions-IAM5[Resource::*]",
      "wallcrawler/Edge/Policy: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/wallcrawler-browser-node:*]",
      "wallcrawler/Edge/Policy: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/wallcrawler/*]",
      "wallcrawler/Edge/Credentials: AwsSolutions-SMG4",
      "wallcrawler/TaskEvents/Secret: AwsSolutions-SMG4",
    ];
    const devOnly = ["wallcrawler/Network/Vpc: AwsSolutions-VPC7", "wallcrawler/BrowserNode/Cluster: AwsSolutions-ECS4"];
    expect([...acknowledgements(prod().stack).keys()].sort()).toEqual([...both].sort());
    expect([...acknowledgements(dev().stack).keys()].sort()).toEqual([...both, ...devOnly].sort());
    for (const reason of acknowledgements(dev().stack).values()) expect(reason.length).toBeGreaterThan(60);
    // Direct mode's proxy, open to anywhere by default, is the one more.
    const ec23 = "wallcrawler/Network/BrowserNodes: AwsSolutions-EC23";
    expect([...acknowledgements(direct("prod").stack).keys()].sort()).toEqual([...both, ec23].sort());
    expect(acknowledgements(direct().stack).get(ec23)!.length).toBeGreaterThan(60);
  });

  it("needs no EC23 acknowledgement once direct mode's ingress is narrowed", () => {
    const narrowed = synth({ connectMode: "direct", ingressCidrs: "203.0.113.0/24" }).stack;
    expect([...acknowledgements(narrowed).keys()].filter((key) => key.includes("EC23"))).toEqual([]);
  });
});
