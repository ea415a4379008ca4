/**
 * The edge's configuration, read once per set of bindings from wrangler.toml vars (overridable in
 * `.dev.vars` or with `wrangler dev --var`). A var that does not parse is an operator error,
 * reported by name instead of being silently replaced by a default.
 */
import { z } from "zod";
import { CONNECT_MODES, type ConnectMode } from "./node-protocol.ts";
import { ApiError } from "./errors.ts";
import { LOG_LEVELS } from "./log.ts";
import type { EdgeEnv } from "./env.ts";

const seconds = (name: string, min: number, max: number) =>
  z.coerce.number({ error: `${name} must be a number of seconds` }).int().min(min).max(max);
const list = z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));
const url = z.union([z.literal(""), z.url()]).transform((s) => s || undefined);

const Vars = z.object({
  ECS_REGION: z.string().min(1),
  ECS_CLUSTER: z.string().min(1),
  ECS_TASK_DEFINITION: z.string().min(1),
  ECS_CONTAINER_NAME: z.string().min(1),
  ECS_SUBNETS: list,
  ECS_SECURITY_GROUPS: list,
  ECS_ASSIGN_PUBLIC_IP: z.enum(["ENABLED", "DISABLED"]),
  ECS_ENDPOINT: url,
  EC2_ENDPOINT: url,
  CONNECT_MODE: z.enum(CONNECT_MODES),
  CONNECT_SCHEME: z.enum(["ws", "wss"]),
  EDGE_PUBLIC_URL: url,
  SESSION_START_TIMEOUT_SECONDS: seconds("SESSION_START_TIMEOUT_SECONDS", 5, 900),
  SESSION_RETENTION_DAYS: z.coerce.number().min(0).max(3650),
  WARM_POOL_SIZE: z.coerce.number({ error: "WARM_POOL_SIZE must be a whole number of members" }).int().min(0).max(100).default(2),
  WARM_POOL_IDLE_SECONDS: seconds("WARM_POOL_IDLE_SECONDS", 60, 86_400).default(1800),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
});

export interface EdgeConfig {
  ecs: {
    region: string;
    cluster: string;
    taskDefinition: string;
    containerName: string;
    subnets: string[];
    securityGroups: string[];
    assignPublicIp: "ENABLED" | "DISABLED";
    ecsEndpoint: string;
    ec2Endpoint: string;
  };
  /** How clients reach CDP: through the edge, or straight to the node's proxy. */
  connectMode: ConnectMode;
  /** Scheme of the node's proxy in direct mode. */
  connectScheme: "ws" | "wss";
  edgePublicUrl?: string;
  startTimeoutMs: number;
  retentionMs: number;
  /** The warm pool of the region (docs/pool.md): members kept warm (0: off), and how long one may wait. */
  pool: { size: number; idleMs: number };
}

const cache = new WeakMap<object, EdgeConfig>();

export function readConfig(env: EdgeEnv): EdgeConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = Vars.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(500, `The edge is misconfigured: ${issue.path.join(".")}: ${issue.message}`);
  }
  const v = parsed.data;
  const config: EdgeConfig = {
    ecs: {
      region: v.ECS_REGION,
      cluster: v.ECS_CLUSTER,
      taskDefinition: v.ECS_TASK_DEFINITION,
      containerName: v.ECS_CONTAINER_NAME,
      subnets: v.ECS_SUBNETS,
      securityGroups: v.ECS_SECURITY_GROUPS,
      assignPublicIp: v.ECS_ASSIGN_PUBLIC_IP,
      ecsEndpoint: v.ECS_ENDPOINT ?? `https://ecs.${v.ECS_REGION}.amazonaws.com/`,
      ec2Endpoint: v.EC2_ENDPOINT ?? `https://ec2.${v.ECS_REGION}.amazonaws.com/`,
    },
    connectMode: v.CONNECT_MODE,
    connectScheme: v.CONNECT_SCHEME,
    edgePublicUrl: v.EDGE_PUBLIC_URL?.replace(/\/+$/, ""),
    startTimeoutMs: v.SESSION_START_TIMEOUT_SECONDS * 1000,
    retentionMs: v.SESSION_RETENTION_DAYS * 86_400_000,
    pool: { size: v.WARM_POOL_SIZE, idleMs: v.WARM_POOL_IDLE_SECONDS * 1000 },
  };
  cache.set(env, config);
  return config;
}
