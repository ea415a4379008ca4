/**
 * The deployment's settings, read from CDK context (`cdk.json` or `-c key=value`) and checked
 * before any construct exists, so a bad value stops the synth with a message instead of
 * producing a stack that deploys and then fails at RunTask time.
 */

import { CONNECT_MODES, type ConnectMode } from "../../edge/node-protocol.ts";

export type Mode = "dev" | "prod";
export type Architecture = "x86_64" | "arm64";

export interface WallcrawlerConfig {
  /** `dev`: one AZ, short logs, no flow logs. `prod`: 2+ AZs, flow logs, Container Insights, limited egress. */
  readonly mode: Mode;
  /** Base URL of the edge Worker (https, no path); EventBridge posts task events to it. */
  readonly edgeUrl: string;
  /** Stack name, ECS cluster name and prefix of the task definition family. */
  readonly name: string;
  readonly architecture: Architecture;
  /** Fargate task size in CPU units (1024 = 1 vCPU) and MiB. */
  readonly cpu: number;
  readonly memoryMiB: number;
  /**
   * `edge` (default): clients reach CDP through the edge and nodes dial it, so nodes take no
   * inbound traffic at all. `direct`: clients connect to each node's CDP proxy on 9223.
   * The edge's CONNECT_MODE must say the same.
   */
  readonly connectMode: ConnectMode;
  /** Direct mode: who may open the CDP proxy port (the proxy itself checks a JWT before upgrading). Empty in edge mode. */
  readonly ingressCidrs: readonly string[];
  /** Explicit AZ names; empty means the first AZs of the region (1 in dev, 2 in prod). */
  readonly availabilityZones: readonly string[];
  /** Bump to replace the edge's access key (a new key is created, the old one deleted). */
  readonly edgeKeySerial: number;
  /** Bump to replace the task-events shared secret (a new secret and value). */
  readonly eventsSecretSerial: number;
}

/** The context keys this app reads; anything else in context is CDK's own. */
export const CONTEXT_KEYS = [
  "mode",
  "edgeUrl",
  "name",
  "architecture",
  "cpu",
  "memoryMiB",
  "connectMode",
  "ingressCidrs",
  "availabilityZones",
  "edgeKeySerial",
  "eventsSecretSerial",
] as const;

type ContextReader = (key: (typeof CONTEXT_KEYS)[number]) => unknown;

/**
 * Valid Fargate memory sizes (MiB) per CPU size: Fargate rejects other pairs only at RunTask,
 * long after deploy succeeded, so the synth checks them. 256 (a quarter vCPU) is left out:
 * Chromium does not start usefully on it.
 */
const FARGATE_SIZES: Record<number, { min: number; max: number; step: number }> = {
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
  8192: { min: 16384, max: 61440, step: 4096 },
  16384: { min: 32768, max: 122880, step: 8192 },
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function readConfig(get: ContextReader): WallcrawlerConfig {
  const mode = oneOf("mode", get("mode") ?? "dev", ["dev", "prod"] as const);
  const connectMode = oneOf("connectMode", get("connectMode") ?? "edge", CONNECT_MODES);
  if (connectMode === "edge" && get("ingressCidrs") !== undefined) {
    throw new ConfigError("ingressCidrs applies to connectMode=direct only: in edge mode nodes take no inbound traffic");
  }
  const config: WallcrawlerConfig = {
    mode,
    edgeUrl: edgeUrl(get("edgeUrl")),
    name: resourceName(get("name") ?? "wallcrawler"),
    architecture: oneOf("architecture", get("architecture") ?? "x86_64", ["x86_64", "arm64"] as const),
    cpu: integer("cpu", get("cpu") ?? 1024),
    memoryMiB: integer("memoryMiB", get("memoryMiB") ?? 2048),
    connectMode,
    ingressCidrs: connectMode === "direct" ? list(get("ingressCidrs") ?? "0.0.0.0/0").map(cidr) : [],
    availabilityZones: list(get("availabilityZones") ?? ""),
    edgeKeySerial: integer("edgeKeySerial", get("edgeKeySerial") ?? 1),
    eventsSecretSerial: integer("eventsSecretSerial", get("eventsSecretSerial") ?? 1),
  };
  checkFargateSize(config.cpu, config.memoryMiB);
  if (connectMode === "direct" && config.ingressCidrs.length === 0) {
    throw new ConfigError("ingressCidrs is empty: no client could reach a browser node");
  }
  if (mode === "prod" && config.availabilityZones.length === 1) {
    throw new ConfigError("prod needs at least two availabilityZones");
  }
  return config;
}

function edgeUrl(value: unknown): string {
  if (typeof value !== "string" || value === "") {
    throw new ConfigError("edgeUrl is required (e.g. -c edgeUrl=https://wallcrawler-edge.<account>.workers.dev)");
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`edgeUrl is not a URL: ${value}`);
  }
  // Task events carry the shared secret header, so they must never travel in clear text.
  if (url.protocol !== "https:") throw new ConfigError(`edgeUrl must use https: ${value}`);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    throw new ConfigError(`edgeUrl must be a bare origin like https://edge.example.com: ${value}`);
  }
  return url.origin;
}

function resourceName(value: unknown): string {
  // Cluster names allow [A-Za-z0-9_-]{1,255}; the family adds "-browser-node" and IAM names are shorter.
  if (typeof value !== "string" || !/^[A-Za-z][A-Za-z0-9-]{0,31}$/.test(value)) {
    throw new ConfigError(`name must be a letter then up to 31 letters, digits or '-': ${String(value)}`);
  }
  return value;
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${key} must be one of ${allowed.join(", ")}: ${String(value)}`);
}

function integer(key: string, value: unknown): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(`${key} must be a positive integer: ${String(value)}`);
  }
  return n;
}

/** `-c` gives strings ("a,b"), cdk.json may give arrays. */
function list(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : [value];
  return items.map((item) => String(item).trim()).filter((item) => item !== "");
}

function cidr(value: string): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (v4 && v4.slice(1, 5).every((octet) => Number(octet) <= 255) && Number(v4[5]) <= 32) return value;
  throw new ConfigError(`ingressCidrs holds something that is not an IPv4 CIDR: ${value}`);
}

function checkFargateSize(cpu: number, memoryMiB: number): void {
  const size = FARGATE_SIZES[cpu];
  if (!size) throw new ConfigError(`cpu must be one of ${Object.keys(FARGATE_SIZES).join(", ")}: ${cpu}`);
  if (memoryMiB < size.min || memoryMiB > size.max || (memoryMiB - size.min) % size.step !== 0) {
    throw new ConfigError(
      `memoryMiB ${memoryMiB} is not a Fargate size for cpu ${cpu} (${size.min}-${size.max} in steps of ${size.step})`,
    );
  }
}
