import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../../infra-cdk/lib/config.ts";

const read = (context: Record<string, unknown>) => readConfig((key) => context[key]);
const base = { edgeUrl: "https://edge.example.com" };

describe("context → config", () => {
  it("defaults to a dev x86_64 1 vCPU / 2 GB node in edge mode, reachable by nobody", () => {
    expect(read(base)).toEqual({
      mode: "dev",
      edgeUrl: "https://edge.example.com",
      name: "wallcrawler",
      architecture: "x86_64",
      cpu: 1024,
      memoryMiB: 2048,
      connectMode: "edge",
      ingressCidrs: [],
      availabilityZones: [],
      edgeKeySerial: 1,
      eventsSecretSerial: 1,
    });
  });

  it("reads -c strings and cdk.json values alike", () => {
    const fromCli = read({ ...base, connectMode: "direct", mode: "prod", architecture: "arm64", cpu: "2048", memoryMiB: "4096", ingressCidrs: "10.0.0.0/8, 192.0.2.0/24", availabilityZones: "us-east-1b,us-east-1c" });
    const fromJson = read({ ...base, connectMode: "direct", mode: "prod", architecture: "arm64", cpu: 2048, memoryMiB: 4096, ingressCidrs: ["10.0.0.0/8", "192.0.2.0/24"], availabilityZones: ["us-east-1b", "us-east-1c"] });
    expect(fromCli).toEqual(fromJson);
    expect(fromCli).toMatchObject({ mode: "prod", architecture: "arm64", cpu: 2048, memoryMiB: 4096, ingressCidrs: ["10.0.0.0/8", "192.0.2.0/24"] });
  });

  it("requires the edge URL as a bare https origin (task events carry a secret header)", () => {
    expect(() => read({})).toThrow(/edgeUrl is required/);
    expect(() => read({ edgeUrl: "http://edge.example.com" })).toThrow(/https/);
    expect(() => read({ edgeUrl: "https://edge.example.com/api" })).toThrow(/bare origin/);
    expect(() => read({ edgeUrl: "https://user:pw@edge.example.com" })).toThrow(/bare origin/);
    expect(() => read({ edgeUrl: "not a url" })).toThrow(ConfigError);
    expect(read({ edgeUrl: "https://Edge.Example.com/" }).edgeUrl).toBe("https://edge.example.com");
  });

  it("accepts only task sizes Fargate can run", () => {
    expect(read({ ...base, cpu: 4096, memoryMiB: 30720 }).memoryMiB).toBe(30720);
    expect(() => read({ ...base, cpu: 1024, memoryMiB: 1024 })).toThrow(/not a Fargate size/);
    expect(() => read({ ...base, cpu: 1024, memoryMiB: 2500 })).toThrow(/not a Fargate size/);
    expect(() => read({ ...base, cpu: 1000 })).toThrow(/cpu must be one of/);
    expect(() => read({ ...base, cpu: "1.5" })).toThrow(/positive integer/);
  });

  it("opens direct mode's proxy to anywhere unless ingressCidrs narrows it; edge mode refuses ingressCidrs", () => {
    expect(read({ ...base, connectMode: "direct" })).toMatchObject({ connectMode: "direct", ingressCidrs: ["0.0.0.0/0"] });
    expect(() => read({ ...base, ingressCidrs: "10.0.0.0/8" })).toThrow(/connectMode=direct only/);
    expect(() => read({ ...base, connectMode: "edge", ingressCidrs: "10.0.0.0/8" })).toThrow(/connectMode=direct only/);
  });

  it("rejects unknown modes, architectures, bad CIDRs, an empty ingress list and a one-AZ prod", () => {
    const direct = { ...base, connectMode: "direct" };
    expect(() => read({ ...base, mode: "staging" })).toThrow(/mode must be one of/);
    expect(() => read({ ...base, connectMode: "tunnel" })).toThrow(/connectMode must be one of edge, direct/);
    expect(() => read({ ...base, architecture: "arm" })).toThrow(/architecture must be one of/);
    expect(() => read({ ...direct, ingressCidrs: "10.0.0.0/33" })).toThrow(/not an IPv4 CIDR/);
    expect(() => read({ ...direct, ingressCidrs: "256.0.0.0/8" })).toThrow(/not an IPv4 CIDR/);
    expect(() => read({ ...direct, ingressCidrs: " , " })).toThrow(/ingressCidrs is empty/);
    expect(() => read({ ...base, mode: "prod", availabilityZones: "us-east-1a" })).toThrow(/two availabilityZones/);
    expect(() => read({ ...base, name: "has space" })).toThrow(/name must be/);
  });
});
