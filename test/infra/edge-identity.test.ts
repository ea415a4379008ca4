import { describe, expect, it } from "vitest";
import { dev, logicalIdAt, only, prod, resourcesOf, synth } from "./fixtures.ts";

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const arn = (tail: string) => ({
  "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":ecs:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, tail]],
});

/** Statements of every policy in the template: standalone, inline on roles and users, managed. */
function allStatements(template: ReturnType<typeof dev>["template"]): Statement[] {
  const docs = [
    ...Object.values(resourcesOf(template, "AWS::IAM::Policy")).map((p) => p.Properties!.PolicyDocument),
    ...Object.values(resourcesOf(template, "AWS::IAM::ManagedPolicy")).map((p) => p.Properties!.PolicyDocument),
    ...["AWS::IAM::Role", "AWS::IAM::User"].flatMap((type) =>
      Object.values(resourcesOf(template, type)).flatMap((r) => (r.Properties?.Policies ?? []).map((p: any) => p.PolicyDocument)),
    ),
  ];
  return docs.flatMap((doc) => doc.Statement as Statement[]);
}

describe("the edge's IAM user", () => {
  const { template } = dev();
  const userId = logicalIdAt(template, "Edge/User");

  it("has exactly one inline policy and nothing else attached", () => {
    const user = only(template, "AWS::IAM::User").props;
    expect(user).toEqual({}); // no managed policies, groups, inline policies or login profile
    const attached = Object.values(resourcesOf(template, "AWS::IAM::Policy")).filter((p) =>
      JSON.stringify(p.Properties!.Users ?? []).includes(userId),
    );
    expect(attached).toHaveLength(1);
  });

  it("may run, stop and describe browser tasks of this cluster, pass their two roles and read ENIs: nothing more", () => {
    const policy = Object.values(resourcesOf(template, "AWS::IAM::Policy")).find((p) =>
      JSON.stringify(p.Properties!.Users ?? []).includes(userId),
    )!;
    const clusterId = logicalIdAt(template, "BrowserNode/Cluster");
    expect(policy.Properties!.PolicyDocument.Statement).toEqual([
      {
        Sid: "RunBrowserNodeInThisCluster",
        Effect: "Allow",
        Action: "ecs:RunTask",
        Resource: arn(":task-definition/wallcrawler-browser-node:*"),
        Condition: { ArnEquals: { "ecs:cluster": { "Fn::GetAtt": [clusterId, "Arn"] } } },
      },
      {
        Sid: "StopAndDescribeThisClustersTasks",
        Effect: "Allow",
        Action: ["ecs:DescribeTasks", "ecs:StopTask"],
        Resource: arn(":task/wallcrawler/*"),
      },
      {
        Sid: "PassTheBrowserNodeRoles",
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: [
          { "Fn::GetAtt": [logicalIdAt(template, "BrowserNode/ExecutionRole"), "Arn"] },
          { "Fn::GetAtt": [logicalIdAt(template, "BrowserNode/TaskRole"), "Arn"] },
        ],
        Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      },
      {
        Sid: "FindTaskPublicIp",
        Effect: "Allow",
        Action: "ec2:DescribeNetworkInterfaces",
        Resource: "*",
        Condition: { StringEquals: { "aws:RequestedRegion": { Ref: "AWS::Region" } } },
      },
    ]);
  });

  it("follows the deployment name into the family and cluster it may touch", () => {
    const named = synth({ name: "wc-staging" }).template;
    const actions = allStatements(named).filter((s) => [s.Action].flat().some((a) => a.startsWith("ecs:")));
    expect(JSON.stringify(actions)).toContain(":task-definition/wc-staging-browser-node:*");
    expect(JSON.stringify(actions)).toContain(":task/wc-staging/*");
    expect(JSON.stringify(actions)).not.toContain("wallcrawler");
  });

  it("no policy anywhere in the stack has a wildcard action or a NotAction", () => {
    for (const { template: t } of [dev(), prod()]) {
      const statements = allStatements(t);
      expect(statements.length).toBeGreaterThan(5);
      for (const s of statements) {
        expect(s).not.toHaveProperty("NotAction");
        for (const action of [s.Action].flat()) expect(action).not.toMatch(/\*/);
      }
      // The edge does not tag tasks, so nobody gets ecs:TagResource.
      expect(statements.flatMap((s) => [s.Action].flat())).not.toContain("ecs:TagResource");
    }
  });

  it("stores its access key in Secrets Manager, keyed by the Worker secrets' names, and never outputs it", () => {
    const keyId = only(template, "AWS::IAM::AccessKey").id;
    const credentialsId = logicalIdAt(template, "Edge/Credentials");
    const secret = template.toJSON().Resources[credentialsId].Properties;
    expect(secret.SecretString).toEqual({
      "Fn::Join": [
        "",
        ['{"AWS_ACCESS_KEY_ID":"', { Ref: keyId }, '","AWS_SECRET_ACCESS_KEY":"', { "Fn::GetAtt": [keyId, "SecretAccessKey"] }, '"}'],
      ],
    });
    const outputs = JSON.stringify(template.toJSON().Outputs);
    expect(outputs).not.toContain("SecretAccessKey");
    expect(outputs).not.toContain(`"Ref":"${keyId}"`);
    // Only the secret itself reads the key's attributes.
    const readers = Object.entries(template.toJSON().Resources).filter(([, r]) => JSON.stringify(r).includes(`"${keyId}"`));
    expect(readers.map(([id]) => id)).toEqual([credentialsId]);
  });

  it("replaces the access key when edgeKeySerial is bumped", () => {
    const rotated = synth({ edgeKeySerial: 2 }).template;
    const key = only(rotated, "AWS::IAM::AccessKey");
    expect(key.props.Serial).toBe(2);
    expect(key.id).not.toBe(only(template, "AWS::IAM::AccessKey").id);
  });
});
