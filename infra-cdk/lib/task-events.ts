import { Duration, SecretValue, Validations } from "aws-cdk-lib";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { TASK_EVENTS_PATH, TASK_EVENTS_SECRET_HEADER } from "../../edge/node-protocol.ts";

/** The key of the events secret's JSON, equal to the Worker secret's name for `wrangler secret bulk`. */
export const TASK_EVENTS_SECRET_KEY = "TASK_EVENTS_SECRET";

export interface TaskEventsProps {
  readonly cluster: ecs.ICluster;
  /** Origin of the edge, e.g. https://wallcrawler-edge.example.workers.dev */
  readonly edgeUrl: string;
  /**
   * Bump to rotate the shared secret: a new secret (a CloudFormation dynamic reference is read
   * only when the template changes, so a new value in the old secret would never reach the
   * connection).
   */
  readonly secretSerial: number;
}

/**
 * Tells the edge when a browser task changes state (above all, when it stops on its own), so a
 * session whose node died ends at once instead of waiting for its timeout. EventBridge posts
 * each "ECS Task State Change" of this cluster to the edge with a shared-secret header.
 */
export class TaskEvents extends Construct {
  readonly secret: secretsmanager.Secret;
  readonly rule: events.Rule;
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: TaskEventsProps) {
    super(scope, id);
    this.endpoint = `${props.edgeUrl}${TASK_EVENTS_PATH}`;

    this.secret = new secretsmanager.Secret(this, `Secret${props.secretSerial === 1 ? "" : props.secretSerial}`, {
      description: `Value of the ${TASK_EVENTS_SECRET_HEADER} header on task events (wrangler secret ${TASK_EVENTS_SECRET_KEY})`,
      generateSecretString: {
        secretStringTemplate: "{}",
        generateStringKey: TASK_EVENTS_SECRET_KEY,
        passwordLength: 64,
        excludePunctuation: true,
      },
    });
    Validations.of(this.secret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "The value must change in the EventBridge connection and the Worker together; rotation is a redeploy with " +
        "-c eventsSecretSerial=<n+1> followed by `wrangler secret bulk` (docs/deploy.md), not an unattended Lambda.",
    });

    // The connection copies the value into its own EventBridge-managed secret at deploy time;
    // the template holds only a dynamic reference.
    const connection = new events.Connection(this, "Connection", {
      description: "Wallcrawler edge: shared secret header for ECS task events",
      authorization: events.Authorization.apiKey(
        TASK_EVENTS_SECRET_HEADER,
        SecretValue.secretsManager(this.secret.secretArn, { jsonField: TASK_EVENTS_SECRET_KEY }),
      ),
    });
    const destination = new events.ApiDestination(this, "Destination", {
      description: "Wallcrawler edge task-event route",
      connection,
      endpoint: this.endpoint,
      httpMethod: events.HttpMethod.POST,
    });

    this.rule = new events.Rule(this, "Rule", {
      description: "ECS task state changes of the Wallcrawler cluster, to the edge",
      eventPattern: {
        source: ["aws.ecs"],
        detailType: ["ECS Task State Change"],
        detail: { clusterArn: [props.cluster.clusterArn] },
      },
    });
    // EventBridge's longest retry window: an edge outage loses no stop events under a day old.
    this.rule.addTarget(new targets.ApiDestination(destination, { retryAttempts: 185, maxEventAge: Duration.hours(24) }));
  }
}
