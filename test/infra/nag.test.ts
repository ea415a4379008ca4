/**
 * cdk-nag's AWS Solutions rules on the synthesised stack, in both connect modes: nothing is left
 * unacknowledged, and each acknowledgement answers a finding the rules really raise at that
 * construct, so none is stale and none hides more than it names. (The fixtures' synth already
 * throws on an unacknowledged finding.)
 */
import { Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import { dev, direct, newApp, prod, synth, type Synthesized } from "./fixtures.ts";

/** Ingress is direct mode's alone: edge mode takes no ingressCidrs. */
const narrowed = () => synth({ mode: "prod", connectMode: "direct", ingressCidrs: "203.0.113.0/24" });
const stacks: [string, () => Synthesized][] = [
  ["dev, edge mode", dev],
  ["prod, edge mode", prod],
  ["dev, direct mode", () => direct("dev")],
  ["prod, direct mode", () => direct("prod")],
  ["prod, direct mode with narrowed ingress", narrowed],
];

/** Every cdk-nag acknowledgement in the stack as "construct path: rule id", with its reason. */
function acknowledgements({ stack }: Synthesized): Map<string, string> {
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

/** What the rules report with every acknowledgement ignored, as "resource path: rule id". */
function everyFinding(root: IConstruct): string[] {
  const pack = new AwsSolutionsChecks();
  // cdk-nag drops acknowledged findings in this one private check. Were it renamed, this would
  // report nothing, and every acknowledgement below would fail as stale rather than pass unseen.
  Object.assign(pack, { isAcknowledged: () => false });
  return pack.validateScope(root).violations.flatMap((v) => v.violatingResources.map((r) => `${r.constructPath}: ${v.ruleName}`));
}

/** An acknowledgement on a construct covers the findings of its rule on that construct and below. */
function covers(acknowledged: string, finding: string): boolean {
  const [path, rule] = acknowledged.split(": ");
  const [resource, found] = finding.split(": ");
  return rule === found && (resource === path || resource!.startsWith(`${path}/`));
}

describe("cdk-nag AwsSolutionsChecks", () => {
  it.each(stacks)("leaves no error and no warning unacknowledged (%s)", (_, stack) => {
    expect(new AwsSolutionsChecks().validateScope(stack().stack.node.root)).toEqual({ success: true, violations: [] });
  });

  it.each(stacks)("acknowledges only findings the rules raise there, and every one they raise (%s)", (_, stack) => {
    const findings = everyFinding(stack().stack.node.root);
    const acknowledged = [...acknowledgements(stack()).keys()];
    expect(acknowledged.filter((a) => !findings.some((f) => covers(a, f))), "acknowledgements that answer no finding").toEqual([]);
    expect(findings.filter((f) => !acknowledged.some((a) => covers(a, f))), "findings nobody acknowledged").toEqual([]);
  });

  it("acknowledges exactly these findings in each mode, each with a reason of its own", () => {
    const both = [
      "wallcrawler/BrowserNode/ExecutionRole: AwsSolutions-IAM5[Resource::*]",
      "wallcrawler/Edge/Policy: AwsSolutions-IAM5[Resource::*]",
      "wallcrawler/Edge/Policy: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/wallcrawler-browser-node:*]",
      "wallcrawler/Edge/Policy: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/wallcrawler/*]",
      "wallcrawler/Edge/Credentials: AwsSolutions-SMG4",
      "wallcrawler/TaskEvents/Secret: AwsSolutions-SMG4",
    ];
    const devOnly = ["wallcrawler/Network/Vpc: AwsSolutions-VPC7", "wallcrawler/BrowserNode/Cluster: AwsSolutions-ECS4"];
    // Direct mode's proxy port, open to anywhere by default, is the one more; edge mode has no ingress rule.
    const openIngress = "wallcrawler/Network/BrowserNodes: AwsSolutions-EC23";
    // Direct mode's one container variable (the proxy's port); edge mode sets none.
    const portVariable = "wallcrawler/BrowserNode/TaskDefinition: AwsSolutions-ECS2";
    const keys = (stack: Synthesized) => [...acknowledgements(stack).keys()].sort();
    expect(keys(prod())).toEqual([...both].sort());
    expect(keys(dev())).toEqual([...both, ...devOnly].sort());
    expect(keys(direct("prod"))).toEqual([...both, openIngress, portVariable].sort());
    expect(keys(direct("dev"))).toEqual([...both, ...devOnly, openIngress, portVariable].sort());
    expect(keys(narrowed())).toEqual([...both, portVariable].sort());
    const reasons = [...acknowledgements(direct("dev")).values()];
    for (const reason of reasons) expect(reason.length, reason).toBeGreaterThan(60);
    expect(new Set(reasons).size).toBe(reasons.length);
  });

  it("raises an EC23 finding only for direct mode's ingress open to anywhere", () => {
    const ec23 = (stack: Synthesized) => everyFinding(stack.stack.node.root).filter((f) => f.endsWith("AwsSolutions-EC23"));
    expect(ec23(direct("prod"))).toEqual(["wallcrawler/Network/BrowserNodes/Resource: AwsSolutions-EC23"]);
    expect(ec23(narrowed())).toEqual([]);
    expect(ec23(prod())).toEqual([]); // edge mode: no ingress rule at all
    expect(ec23(dev())).toEqual([]);
  });

  it("fails the synth on a finding nobody acknowledged", () => {
    const { app, stack } = newApp({ mode: "prod" });
    stack.browserNode.taskDefinition.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: ["*"] }));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5/);
  });
});
