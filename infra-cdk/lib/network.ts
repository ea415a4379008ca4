import { Validations } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { WallcrawlerConfig } from "./config.ts";
import { logSettings } from "./log-settings.ts";

export const CDP_PROXY_PORT = 9223;

/**
 * Public subnets only: a task reaches ECR, CloudWatch Logs and the edge through the internet
 * gateway (and, in direct mode, clients reach its public IP), so there is nothing a NAT gateway or
 * private subnet would carry. In edge mode (the default) the nodes' security group lets nothing
 * in: every node dials the edge, and the edge never dials a node.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly browserSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, config: WallcrawlerConfig) {
    super(scope, id);
    const prod = config.mode === "prod";
    const zones = config.availabilityZones.length > 0 ? { availabilityZones: [...config.availabilityZones] } : { maxAzs: prod ? 2 : 1 };

    this.vpc = new ec2.Vpc(this, "Vpc", {
      ...zones,
      natGateways: 0,
      subnetConfiguration: [{ name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20, mapPublicIpOnLaunch: false }],
      // Strips the default security group's rules (CIS 5.4); nothing here uses it.
      restrictDefaultSecurityGroup: true,
    });

    if (prod) {
      const flowLogs = new logs.LogGroup(this, "FlowLogs", logSettings(config));
      this.vpc.addFlowLog("FlowLog", {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
        trafficType: ec2.FlowLogTrafficType.ALL,
      });
    } else {
      Validations.of(this.vpc).acknowledge({
        id: "AwsSolutions-VPC7",
        reason: "dev mode skips VPC flow logs to stay cheap; prod mode (-c mode=prod) enables them.",
      });
    }

    this.browserSecurityGroup = new ec2.SecurityGroup(this, "BrowserNodes", {
      vpc: this.vpc,
      // Constant, in edge mode too: a changed description replaces the group (and changes
      // ECS_SECURITY_GROUPS), and switching modes should change only its rules.
      description: `Wallcrawler browser nodes: CDP proxy ${CDP_PROXY_PORT} from clients`,
      allowAllOutbound: !prod,
    });
    // Empty in edge mode: the group has no ingress rule at all.
    for (const cidr of config.ingressCidrs) {
      this.browserSecurityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(CDP_PROXY_PORT), "CDP proxy (JWT-checked)");
    }
    if (config.ingressCidrs.includes("0.0.0.0/0")) {
      Validations.of(this.browserSecurityGroup).acknowledge({
        id: "AwsSolutions-EC23",
        reason:
          "Clients (SDKs, Playwright, Puppeteer) connect to the node directly from anywhere; the proxy rejects any " +
          "connection without a valid per-session ES256 JWT before the WebSocket upgrade. Narrow with -c ingressCidrs.",
      });
    }
    if (prod) {
      // A browser needs the web and name resolution; nothing else leaves the task.
      const anywhere = ec2.Peer.anyIpv4();
      this.browserSecurityGroup.addEgressRule(anywhere, ec2.Port.tcp(443), "HTTPS (sites, ECR, logs, edge)");
      this.browserSecurityGroup.addEgressRule(anywhere, ec2.Port.tcp(80), "HTTP");
      // The VPC resolver lives inside the VPC range; other resolvers stay unreachable.
      const resolver = ec2.Peer.ipv4(this.vpc.vpcCidrBlock);
      this.browserSecurityGroup.addEgressRule(resolver, ec2.Port.udp(53), "DNS (VPC resolver)");
      this.browserSecurityGroup.addEgressRule(resolver, ec2.Port.tcp(53), "DNS over TCP (VPC resolver)");
    }
  }
}
