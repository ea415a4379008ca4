import * as path from "node:path";
import { Duration, Validations } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { NodeEnv } from "../../edge/node-protocol.ts";
import type { WallcrawlerConfig } from "./config.ts";
import { logSettings } from "./log-settings.ts";
import { CDP_PROXY_PORT } from "./network.ts";

/** The image's build context is the repository root: the Dockerfile copies `dist/browser-node/`. */
export const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..");
export const DOCKERFILE = "browser-node/Dockerfile";
export const CONTAINER_NAME = "browser-node";

/**
 * Never part of the image context, whatever `.dockerignore` says (CDK honours it too): big or
 * secret trees would slow every synth and change the image hash on unrelated edits. CDK's own
 * exclusion of its output directory is an absolute path, which Docker-style patterns never
 * match, so the synth outputs are listed here.
 */
export const IMAGE_CONTEXT_EXCLUDES = [
  ".git",
  "**/node_modules",
  "**/cdk.out",
  ".wrangler",
  ".wallcrawler",
  ".dev.vars",
  "**/.env*",
  "bench/results",
  "*.log",
  // The root .dockerignore is an allow-list (`*`, then the bundle) and CDK re-includes only the
  // Dockerfile's base name: without this line the staged context has no browser-node/Dockerfile.
  `!${DOCKERFILE}`,
];

/** The ECS cluster and the browser node's Fargate task definition with its two roles. */
export class BrowserNodeTask extends Construct {
  readonly cluster: ecs.Cluster;
  /** Known at synth time (unlike `cluster.clusterName`, a Ref), so IAM ARNs read plainly. */
  readonly clusterName: string;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly family: string;

  constructor(scope: Construct, id: string, config: WallcrawlerConfig, vpc: ec2.IVpc) {
    super(scope, id);
    const prod = config.mode === "prod";

    this.clusterName = config.name;
    this.cluster = new ecs.Cluster(this, "Cluster", {
      clusterName: this.clusterName,
      vpc,
      containerInsightsV2: prod ? ecs.ContainerInsights.ENABLED : ecs.ContainerInsights.DISABLED,
    });
    if (!prod) {
      Validations.of(this.cluster).acknowledge({
        id: "AwsSolutions-ECS4",
        reason: "dev mode skips Container Insights to stay cheap; prod mode (-c mode=prod) enables it.",
      });
    }

    // The browser needs no AWS access: the role exists only because the edge passes it at RunTask.
    const taskRole = new iam.Role(this, "TaskRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "Wallcrawler browser node task role: deliberately without permissions",
    });
    // Gets exactly the ECR pull and log-writing grants CDK derives from the image and log driver.
    const executionRole = new iam.Role(this, "ExecutionRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "Wallcrawler browser node execution role: pulls the image, writes logs",
    });

    this.family = `${config.name}-browser-node`;
    this.taskDefinition = new ecs.FargateTaskDefinition(this, "TaskDefinition", {
      family: this.family,
      cpu: config.cpu,
      memoryLimitMiB: config.memoryMiB,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture: config.architecture === "arm64" ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
      },
      taskRole,
      executionRole,
    });

    const logGroup = new logs.LogGroup(this, "Logs", logSettings(config));
    const direct = config.connectMode === "direct";
    this.taskDefinition.addContainer(CONTAINER_NAME, {
      containerName: CONTAINER_NAME,
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: DOCKERFILE,
        platform: config.architecture === "arm64" ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
        exclude: IMAGE_CONTEXT_EXCLUDES,
      }),
      essential: true,
      // Edge mode maps no port: the node listens on none (it dials the edge).
      portMappings: direct ? [{ containerPort: CDP_PROXY_PORT, protocol: ecs.Protocol.TCP }] : [],
      // Only what every node shares: the edge adds the member's boot env at RunTask, and each
      // session's part (its connect mode included) arrives over the pool link (docs/pool.md).
      environment: direct ? { [NodeEnv.proxyPort]: String(CDP_PROXY_PORT) } : {},
      // Reaps Chromium's zombie helpers and forwards SIGTERM from StopTask to the node.
      linuxParameters: new ecs.LinuxParameters(this, "LinuxParameters", { initProcessEnabled: true }),
      // After SIGTERM the node saves a persisted context (up to 100 MiB) and flushes artifacts before
      // it exits; Fargate's default 30 s could cut that off, so give it Fargate's maximum.
      stopTimeout: Duration.seconds(120),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: CONTAINER_NAME }),
    });
    Validations.of(executionRole).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "ecr:GetAuthorizationToken, added by CDK for the image pull, supports no resource-level permissions; " +
        "the layer-pull actions are limited to the asset repository and logs to this log group.",
    });
    // Edge mode sets no container variable at all, so there is nothing to acknowledge there.
    if (direct)
      Validations.of(this.taskDefinition).acknowledge({
        id: "AwsSolutions-ECS2",
        reason: `The only container variable is ${NodeEnv.proxyPort}, the public port number; nothing secret is set in the task definition.`,
      });
  }
}
