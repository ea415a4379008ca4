import { Aws, Fn, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { BrowserNodeTask, CONTAINER_NAME } from "./browser-node-task.ts";
import type { WallcrawlerConfig } from "./config.ts";
import { EdgeIdentity } from "./edge-identity.ts";
import { addEdgeOutputs } from "./edge-outputs.ts";
import { Network } from "./network.ts";
import { TaskEvents } from "./task-events.ts";

/**
 * Everything the edge needs on AWS and nothing more: where to run browser nodes, the identity
 * it runs them with, and the event feed that tells it when they stop. Environment-agnostic, so
 * it synthesises offline and deploys to whichever account and region the CLI is pointed at.
 */
export class WallcrawlerStack extends Stack {
  readonly network: Network;
  readonly browserNode: BrowserNodeTask;
  readonly edgeIdentity: EdgeIdentity;
  readonly taskEvents: TaskEvents;

  constructor(scope: Construct, id: string, config: WallcrawlerConfig, props: StackProps = {}) {
    super(scope, id, {
      description: `Wallcrawler browser nodes on ECS Fargate (${config.mode})`,
      ...props,
    });

    this.network = new Network(this, "Network", config);
    this.browserNode = new BrowserNodeTask(this, "BrowserNode", config, this.network.vpc);
    this.edgeIdentity = new EdgeIdentity(this, "Edge", { task: this.browserNode, keySerial: config.edgeKeySerial });
    this.taskEvents = new TaskEvents(this, "TaskEvents", {
      cluster: this.browserNode.cluster,
      edgeUrl: config.edgeUrl,
      secretSerial: config.eventsSecretSerial,
    });

    addEdgeOutputs(this, {
      vars: {
        ECS_REGION: Aws.REGION,
        ECS_CLUSTER: this.browserNode.cluster.clusterName,
        ECS_TASK_DEFINITION: this.browserNode.family,
        ECS_CONTAINER_NAME: CONTAINER_NAME,
        ECS_SUBNETS: Fn.join(",", this.network.vpc.publicSubnets.map((subnet) => subnet.subnetId)),
        ECS_SECURITY_GROUPS: this.network.browserSecurityGroup.securityGroupId,
        // No NAT: a node's egress (to the edge, ECR, logs, sites) leaves through its public IP,
        // where direct mode's clients also reach it. Edge mode lets nothing in (network.ts).
        ECS_ASSIGN_PUBLIC_IP: "ENABLED",
        EDGE_PUBLIC_URL: config.edgeUrl,
        CONNECT_MODE: config.connectMode,
      },
      secretArns: {
        EdgeCredentialsSecretArn: this.edgeIdentity.credentials.secretArn,
        TaskEventsSecretArn: this.taskEvents.secret.secretArn,
      },
      taskEventsEndpoint: this.taskEvents.endpoint,
    });
  }
}
