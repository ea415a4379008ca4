/**
 * What a browser node is told, in two parts (docs/pool.md). Its boot environment (RunTask
 * container overrides, which DescribeTasks and CloudTrail show) names the edge, its pool and its
 * member id, and holds the bootstrap token, which opens its pool link and nothing else. The
 * session's part (ids, expiry, settings, proxies, the session's link token, the JWKS) is the
 * `Assignment` the pool sends over that link, so no session secret is ever in the environment and
 * the settings are bounded by the create's input bounds (input-bounds.ts), not by RunTask's 8 KiB.
 */
import { NodeEnv, type Assignment, type ConnectMode, type ProxyRoute } from "../node-protocol.ts";
import type { PoolSettings } from "../pool/pool-settings.ts";
import type { Json, SessionRecord } from "./session-record.ts";

export interface LaunchSettings {
  /** `browserSettings` as the client sent it, with the top-level extensionId folded in. */
  browserSettings: Record<string, Json>;
  /** Base URL of the edge: the node's links and artifact requests. */
  edgeUrl: string;
  /** CONNECT_MODE when the session was created: it stays the session's for its life. */
  connectMode: ConnectMode;
  /** The session's `proxies` as the node applies them (managed ones resolved); absent or empty: none. */
  proxies?: ProxyRoute[];
  /** The region's pool, which the session claims its node from. */
  pool: PoolSettings;
}

/** A member's boot environment; `reserved` for one started for a session (the cold path). */
export function memberEnvironment(m: { edgeUrl: string; pool: string; memberId: string; bootstrapToken: string; reserved: boolean }): Record<string, string> {
  const env: Record<string, string> = {
    [NodeEnv.edgeUrl]: m.edgeUrl,
    [NodeEnv.pool]: m.pool,
    [NodeEnv.memberId]: m.memberId,
    [NodeEnv.bootstrapToken]: m.bootstrapToken,
  };
  if (m.reserved) env[NodeEnv.reserved] = "1";
  return env;
}

/** The session's part, as the pool sends it to the member that serves it. */
export function assignmentFor(record: SessionRecord, launch: LaunchSettings, link: { linkToken: string; jwks: Assignment["jwks"] }): Assignment {
  return {
    sessionId: record.id,
    projectId: record.projectId,
    expiresAt: record.expiresAt,
    keepAlive: record.keepAlive,
    connectMode: launch.connectMode,
    browserSettings: launch.browserSettings,
    proxies: launch.proxies ?? [],
    linkToken: link.linkToken,
    jwks: link.jwks,
  };
}
