/**
 * cdk-nag's AWS Solutions rules on the synthesised stack: nothing is left unacknowledged, and each
 * acknowledgement answers a finding the rules really raise at that construct, so none is stale and
 * none hides more than it names. (The fixtures' synth already throws on an unacknowledged finding.)
 */
import { Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import { dev, newApp, prod, synth, type Synthesized } from "./fixtures.ts";

const narrowed = () => synth({ ingressCidrs: "203.0.113.0/24" });
const stacks: [string, () => Synthesized][] = [
  ["dev", dev],
  ["prod", prod],
  ["prod with narrowed ingress", narrowed],
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

  it("acknowledges exactly these findings, each with a reason of its own", () => {
    const both = [
      "wallcrawler/Network/BrowserNodes: AwsSolutions-EC23",
      "wallcrawler/BrowserNode/ExecutionRole: AwsSolutions-IAM5[Resource::*]",
      "wallcrawler/BrowserNode/TaskDefinition: AwsSolutions-ECS2",
      "wallcrawler/Edge/Policy: AwsSolutions-IAM5[Resource::*]",
      "wallcrawler/Edge/Policy: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/wallcrawler-browser-node:*]",
      "wallcrawler/Edge/Policy: AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/wallcrawler/*]",
      "wallcrawler/Edge/Credentials: AwsSolutions-SMG4",
      "wallcrawler/TaskEvents/Secret: AwsSolutions-SMG4",
    ];
    const devOnly = ["wallcrawler/Network/Vpc: AwsSolutions-VPC7", "wallcrawler/BrowserNode/Cluster: AwsSolutions-ECS4"];
    expect([...acknowledgements(prod()).keys()].sort()).toEqual([...both].sort());
    expect([...acknowledgements(dev()).keys()].sort()).toEqual([...both, ...devOnly].sort());
    const reasons = [...acknowledgements(dev()).values()];
    for (const reason of reasons) expect(reason.length, reason).toBeGreaterThan(60);
    expect(new Set(reasons).size).toBe(reasons.length);
  });

  it("raises no EC23 finding at all once ingress is narrowed", () => {
    expect(everyFinding(narrowed().stack.node.root).filter((f) => f.endsWith("AwsSolutions-EC23"))).toEqual([]);
    expect(everyFinding(prod().stack.node.root).filter((f) => f.endsWith("AwsSolutions-EC23"))).toEqual(["wallcrawler/Network/BrowserNodes/Resource: AwsSolutions-EC23"]);
  });

  it("fails the synth on a finding nobody acknowledged", () => {
    const { app, stack } = newApp({ mode: "prod" });
    stack.browserNode.taskDefinition.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: ["*"] }));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5/);
  });
});
