import { CfnOutput, Fn, type Stack } from "aws-cdk-lib";

/** The edge's `[vars]` (wrangler.toml) this stack decides, by name; values may be CDK tokens. */
export interface EdgeVars {
  readonly ECS_REGION: string;
  readonly ECS_CLUSTER: string;
  readonly ECS_TASK_DEFINITION: string;
  readonly ECS_CONTAINER_NAME: string;
  readonly ECS_SUBNETS: string;
  readonly ECS_SECURITY_GROUPS: string;
  readonly ECS_ASSIGN_PUBLIC_IP: string;
  readonly EDGE_PUBLIC_URL: string;
  /** "edge" or "direct": where clients reach CDP, matching the nodes' WC_CONNECT_MODE and security group. */
  readonly CONNECT_MODE: string;
}

export interface EdgeOutputsProps {
  readonly vars: EdgeVars;
  /** Secrets Manager secrets whose JSON keys are the Worker secrets' names. */
  readonly secretArns: { readonly EdgeCredentialsSecretArn: string; readonly TaskEventsSecretArn: string };
  readonly taskEventsEndpoint: string;
}

/** `ECS_TASK_DEFINITION` → `EcsTaskDefinition`: CloudFormation output names allow no `_`. */
export const outputName = (varName: string) =>
  varName
    .toLowerCase()
    .split("_")
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join("");

/**
 * One output per edge variable and secret ARN, plus the two commands that hand them to the
 * Worker. The secrets' values never appear here: the commands fetch them at the operator's shell.
 * Outputs sit on the stack itself so their names stay exactly these.
 */
export function addEdgeOutputs(parent: Stack, props: EdgeOutputsProps): void {
  const region = props.vars.ECS_REGION;

  for (const [name, value] of Object.entries(props.vars)) {
    new CfnOutput(parent, outputName(name), { value, description: `wrangler.toml [vars] ${name}` });
  }
  for (const [name, value] of Object.entries(props.secretArns)) {
    new CfnOutput(parent, name, { value, description: "Secrets Manager ARN; its JSON keys are Worker secret names" });
  }
  new CfnOutput(parent, "TaskEventsEndpoint", {
    value: props.taskEventsEndpoint,
    description: "Where EventBridge posts ECS task state changes",
  });

  // `--var KEY:VALUE` splits at the first ':' only, so URLs pass intact.
  const deploy = ["npx wrangler deploy", ...Object.entries(props.vars).map(([name, value]) => `--var ${name}:${value}`)];
  new CfnOutput(parent, "WranglerDeployCommand", {
    value: Fn.join(" ", deploy),
    description: "Deploys the edge with this stack's values (or copy them into wrangler.toml [vars])",
  });
  const putSecrets = Object.values(props.secretArns).map((arn) =>
    Fn.join(" ", [
      "aws secretsmanager get-secret-value --region",
      region,
      "--secret-id",
      arn,
      "--query SecretString --output text | npx wrangler secret bulk",
    ]),
  );
  new CfnOutput(parent, "WranglerSecretsCommand", {
    value: Fn.join(" && ", putSecrets),
    description: "Copies AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and TASK_EVENTS_SECRET into the Worker's secrets",
  });
}
