import { describe, expect, it } from "vitest";
import { dev, direct, only, prod, resourcesOf, synth } from "./fixtures.ts";

type Rule = { IpProtocol: string; FromPort?: number; ToPort?: number; CidrIp?: unknown };
const rulesOf = (props: Record<string, any>, key: "SecurityGroupIngress" | "SecurityGroupEgress") =>
  ((props[key] ?? []) as Rule[]).map(({ IpProtocol, FromPort, ToPort, CidrIp }) => ({ IpProtocol, FromPort, ToPort, CidrIp }));
const browserSg = (t = dev().template) => only(t, "AWS::EC2::SecurityGroup").props;

describe("network", () => {
  it("dev: one public subnet with public routing, no NAT, no private subnets, no flow logs", () => {
    const { template } = dev();
    const subnets = Object.values(resourcesOf(template, "AWS::EC2::Subnet"));
    expect(subnets).toHaveLength(1);
    template.resourceCountIs("AWS::EC2::NatGateway", 0);
    template.resourceCountIs("AWS::EC2::EIP", 0);
    template.resourceCountIs("AWS::EC2::FlowLog", 0);
    // The only route sends 0.0.0.0/0 to the internet gateway: the subnet is public.
    const routes = Object.values(resourcesOf(template, "AWS::EC2::Route")).map((r) => r.Properties!);
    expect(routes).toHaveLength(1);
    expect(routes[0]).toMatchObject({ DestinationCidrBlock: "0.0.0.0/0", GatewayId: { Ref: expect.stringMatching(/IGW/) } });
  });

  it("prod: two AZs, still without NAT, and flow logs of all traffic to a retained log group", () => {
    const { template } = prod();
    const azs = Object.values(resourcesOf(template, "AWS::EC2::Subnet")).map((s) => JSON.stringify(s.Properties!.AvailabilityZone));
    expect(new Set(azs).size).toBe(2);
    template.resourceCountIs("AWS::EC2::NatGateway", 0);
    const flowLog = only(template, "AWS::EC2::FlowLog").props;
    expect(flowLog).toMatchObject({ ResourceType: "VPC", TrafficType: "ALL", LogDestinationType: "cloud-watch-logs" });
  });

  it("explicit AZ names pin the subnets (e.g. to skip an AZ without Fargate)", () => {
    const { template } = synth({ mode: "prod", availabilityZones: "us-east-1b,us-east-1c,us-east-1d" });
    const azs = Object.values(resourcesOf(template, "AWS::EC2::Subnet")).map((s) => s.Properties!.AvailabilityZone);
    expect(azs.sort()).toEqual(["us-east-1b", "us-east-1c", "us-east-1d"]);
  });

  it("edge mode (the default) lets nothing in: no ingress rule at all, in dev and prod", () => {
    expect(browserSg().SecurityGroupIngress).toBeUndefined();
    expect(browserSg(prod().template).SecurityGroupIngress).toBeUndefined();
    dev().template.resourceCountIs("AWS::EC2::SecurityGroupIngress", 0);
    prod().template.resourceCountIs("AWS::EC2::SecurityGroupIngress", 0);
  });

  it("direct mode lets in only the CDP proxy port, from anywhere by default", () => {
    expect(rulesOf(browserSg(direct().template), "SecurityGroupIngress")).toEqual([
      { IpProtocol: "tcp", FromPort: 9223, ToPort: 9223, CidrIp: "0.0.0.0/0" },
    ]);
    expect(rulesOf(browserSg(direct("prod").template), "SecurityGroupIngress")).toEqual([
      { IpProtocol: "tcp", FromPort: 9223, ToPort: 9223, CidrIp: "0.0.0.0/0" },
    ]);
    // No separate ingress resources that would widen it.
    direct().template.resourceCountIs("AWS::EC2::SecurityGroupIngress", 0);
  });

  it("keeps the group across dev → prod and edge → direct switches (its description is immutable)", () => {
    const descriptions = [dev(), prod(), direct(), direct("prod")].map((s) => browserSg(s.template).GroupDescription);
    expect(new Set(descriptions).size).toBe(1);
  });

  it("takes the allowed client CIDRs from context in direct mode", () => {
    const { template } = synth({ connectMode: "direct", ingressCidrs: "203.0.113.0/24,198.51.100.7/32" });
    expect(rulesOf(browserSg(template), "SecurityGroupIngress")).toEqual([
      { IpProtocol: "tcp", FromPort: 9223, ToPort: 9223, CidrIp: "203.0.113.0/24" },
      { IpProtocol: "tcp", FromPort: 9223, ToPort: 9223, CidrIp: "198.51.100.7/32" },
    ]);
  });

  it("prod limits egress to HTTP, HTTPS and DNS to the VPC resolver; dev allows all outbound", () => {
    const vpcCidr = { "Fn::GetAtt": [expect.stringMatching(/Vpc/), "CidrBlock"] };
    expect(rulesOf(browserSg(prod().template), "SecurityGroupEgress")).toEqual([
      { IpProtocol: "tcp", FromPort: 443, ToPort: 443, CidrIp: "0.0.0.0/0" },
      { IpProtocol: "tcp", FromPort: 80, ToPort: 80, CidrIp: "0.0.0.0/0" },
      { IpProtocol: "udp", FromPort: 53, ToPort: 53, CidrIp: vpcCidr },
      { IpProtocol: "tcp", FromPort: 53, ToPort: 53, CidrIp: vpcCidr },
    ]);
    prod().template.resourceCountIs("AWS::EC2::SecurityGroupEgress", 0);
    expect(rulesOf(browserSg(), "SecurityGroupEgress")).toEqual([
      { IpProtocol: "-1", FromPort: undefined, ToPort: undefined, CidrIp: "0.0.0.0/0" },
    ]);
  });
});
