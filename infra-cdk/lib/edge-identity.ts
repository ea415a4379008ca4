import { Aws, SecretValue, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import type { BrowserNodeTask } from "./browser-node-task.ts";

export interface EdgeIdentityProps {
  readonly task: BrowserNodeTask;
  /** Bump to create a new access key and delete the old one. */
  readonly keySerial: number;
}

/**
 * The IAM user the edge signs its ECS and EC2 calls with (a Worker cannot assume a role without
 * long-lived credentials somewhere), allowed to do exactly what a session's lifecycle needs.
 * Its access key lands in Secrets Manager, shaped so `wrangler secret bulk` can read it as is.
 */
export class EdgeIdentity extends Construct {
  readonly user: iam.User;
  readonly credentials: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: EdgeIdentityProps) {
    super(scope, id);
    const { cluster, clusterName, taskDefinition, family } = props.task;
    const stack = Stack.of(this);

    this.user = new iam.User(this, "User");
    const policy = new iam.Policy(this, "Policy", {
      statements: [
        new iam.PolicyStatement({
          sid: "RunBrowserNodeInThisCluster",
          actions: ["ecs:RunTask"],
          // Any revision of the family: the edge names the family, ECS resolves the latest revision.
          resources: [stack.formatArn({ service: "ecs", resource: "task-definition", resourceName: `${family}:*` })],
          conditions: { ArnEquals: { "ecs:cluster": cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          sid: "StopAndDescribeThisClustersTasks",
          actions: ["ecs:DescribeTasks", "ecs:StopTask"],
          resources: [stack.formatArn({ service: "ecs", resource: "task", resourceName: `${clusterName}/*` })],
        }),
        new iam.PolicyStatement({
          sid: "PassTheBrowserNodeRoles",
          actions: ["iam:PassRole"],
          resources: [taskDefinition.taskRole.roleArn, taskDefinition.obtainExecutionRole().roleArn],
          conditions: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        }),
        new iam.PolicyStatement({
          sid: "FindTaskPublicIp",
          actions: ["ec2:DescribeNetworkInterfaces"],
          resources: ["*"],
          conditions: { StringEquals: { "aws:RequestedRegion": Aws.REGION } },
        }),
      ],
    });
    this.user.attachInlinePolicy(policy);
    Validations.of(policy).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "ec2:DescribeNetworkInterfaces supports no resource-level permissions (AWS service authorization reference); " +
        "it is limited to this region and is the only statement without a specific resource.",
    });
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/${family}:*]`,
      reason: "The wildcard is the revision number of this one family, so a new image revision stays runnable.",
    });
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/${clusterName}/*]`,
      reason: "Task ids are random; the wildcard covers only the tasks of this one cluster.",
    });

    const key = new iam.AccessKey(this, `AccessKey${props.keySerial}`, { user: this.user, serial: props.keySerial });
    this.credentials = new secretsmanager.Secret(this, "Credentials", {
      description: "Access key of the Wallcrawler edge (wrangler secrets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
      secretObjectValue: {
        AWS_ACCESS_KEY_ID: SecretValue.unsafePlainText(key.accessKeyId),
        AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      },
    });
    Validations.of(this.credentials).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "An IAM access key cannot be rotated by Secrets Manager alone, and the Worker reads it from its own secret store; " +
        "rotation is a redeploy with -c edgeKeySerial=<n+1> followed by `wrangler secret bulk` (docs/deploy.md).",
    });
  }
}

