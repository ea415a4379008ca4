/**
 * moto_server as the second, independent ECS/EC2 implementation. It checks SigV4 and IAM once
 * its first INITIAL_NO_AUTH_ACTION_COUNT requests (our setup below, counted exactly) are spent:
 * an "edge" user may run, stop and describe tasks; a "nobody" user may do nothing.
 */
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { AwsClient } from "aws4fetch";
import type { ProvidedContext } from "vitest";
import { freePort } from "../../../browser-node/local/tasks.ts";

export type MotoServer = ProvidedContext["moto"] & { close(): Promise<void> };

const SETUP_ACTIONS = 10;
const REGION = "us-east-1";
const BOOT = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "setup-before-auth-is-on" };

export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(SETUP_ACTIONS) },
    stdio: "ignore",
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const close = async () => {
    child.kill("SIGTERM");
    await exited;
  };
  try {
    await waitForPort(port);
    const url = `http://127.0.0.1:${port}/`;
    const query = (service: string, params: Record<string, string>) => call(url, service, BOOT, { form: params });
    const ecs = (action: string, body: unknown) => call(url, "ecs", BOOT, { target: action, body });

    const iamVersion = { Version: "2010-05-08" };
    await query("iam", { Action: "CreateUser", UserName: "edge", ...iamVersion });
    const edgeKey = await query("iam", { Action: "CreateAccessKey", UserName: "edge", ...iamVersion });
    await query("iam", {
      Action: "PutUserPolicy",
      UserName: "edge",
      PolicyName: "run-browser-nodes",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["ecs:RunTask", "ecs:StopTask", "ecs:DescribeTasks", "ec2:DescribeNetworkInterfaces"], Resource: "*" }],
      }),
      ...iamVersion,
    });
    await query("iam", { Action: "CreateUser", UserName: "nobody", ...iamVersion });
    const nobodyKey = await query("iam", { Action: "CreateAccessKey", UserName: "nobody", ...iamVersion });
    const ec2Version = { Version: "2016-11-15" };
    const vpc = tag(await query("ec2", { Action: "CreateVpc", CidrBlock: "10.0.0.0/16", ...ec2Version }), "vpcId");
    // moto names an awsvpc task's ENI by its DNS name, which only exists with DNS hostnames on.
    await query("ec2", { Action: "ModifyVpcAttribute", VpcId: vpc, "EnableDnsHostnames.Value": "true", ...ec2Version });
    const subnet = tag(await query("ec2", { Action: "CreateSubnet", VpcId: vpc, CidrBlock: "10.0.1.0/24", ...ec2Version }), "subnetId");
    await ecs("CreateCluster", { clusterName: "wallcrawler" });
    await ecs("RegisterTaskDefinition", {
      family: "wallcrawler-browser-node",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "1024",
      memory: "2048",
      containerDefinitions: [{ name: "browser-node", image: "wallcrawler/browser-node", memory: 2048 }],
    });
    return {
      url,
      region: REGION,
      subnet,
      securityGroup: "sg-0123456789abcdef0",
      allowed: { accessKeyId: tag(edgeKey, "AccessKeyId"), secretAccessKey: tag(edgeKey, "SecretAccessKey") },
      denied: { accessKeyId: tag(nobodyKey, "AccessKeyId"), secretAccessKey: tag(nobodyKey, "SecretAccessKey") },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function call(
  url: string,
  service: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  request: { form: Record<string, string> } | { target: string; body: unknown },
): Promise<string> {
  const client = new AwsClient({ ...credentials, service, region: REGION, retries: 0 });
  const init: { headers: Record<string, string>; body: string } =
    "form" in request
      ? { headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(request.form).toString() }
      : {
          headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AmazonEC2ContainerServiceV20141113.${request.target}` },
          body: JSON.stringify(request.body),
        };
  const res = await client.fetch(url, { method: "POST", ...init });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto setup: ${service} answered ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

function tag(xml: string, name: string): string {
  const value = new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)?.[1];
  if (!value) throw new Error(`moto setup: no <${name}> in ${xml.slice(0, 200)}`);
  return value;
}

/** A TCP connect, not an HTTP request: every HTTP request would spend one of the unauthenticated actions. */
async function waitForPort(port: number) {
  for (let i = 0; i < 150; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("moto_server did not start");
}
