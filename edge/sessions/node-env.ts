/**
 * The environment a session's browser node starts with (RunTask container overrides, which
 * DescribeTasks and CloudTrail show): the link token opens the node's link and nothing else; the
 * node token it works with arrives over that link. ECS caps all overrides of one RunTask at
 * 8 KiB of JSON; the rest of them (link token, JWKS) take about 1.1 KiB, so the create route refuses
 * `browserSettings` and proxy routes that take more than MAX_BROWSER_SETTINGS_BYTES there together.
 */
import { NodeEnv, type ConnectMode, type ProxyRoute } from "../node-protocol.ts";
import { utf8Bytes } from "./input-bounds.ts";
import type { Json, SessionRecord } from "./session-record.ts";

export const MAX_BROWSER_SETTINGS_BYTES = 6144;

export interface LaunchSettings {
  /** `browserSettings` as the client sent it, with the top-level extensionId folded in. */
  browserSettings: Record<string, Json>;
  /** Base URL of the edge: the node's link and artifact requests. */
  edgeUrl: string;
  /** CONNECT_MODE when the session was created: it stays the session's for its life. */
  connectMode: ConnectMode;
  /** The session's `proxies` as the node applies them (managed ones resolved); absent or empty: none. */
  proxies?: ProxyRoute[];
}

const settingsValue = (browserSettings: Record<string, Json>) => JSON.stringify(browserSettings);

/** The overrides the settings become: browserSettings always, the proxy routes when there are any. */
function settingsEnvironment(launch: Pick<LaunchSettings, "browserSettings" | "proxies">): Record<string, string> {
  const env: Record<string, string> = { [NodeEnv.browserSettings]: settingsValue(launch.browserSettings) };
  if (launch.proxies?.length) env[NodeEnv.proxies] = JSON.stringify(launch.proxies);
  return env;
}

/**
 * The UTF-8 bytes the settings take in RunTask's JSON body (which the ECS client writes with
 * JSON.stringify): each variable's value as a string there, its escapes included.
 */
export const launchSettingsBytes = (launch: Pick<LaunchSettings, "browserSettings" | "proxies">) =>
  Object.values(settingsEnvironment(launch)).reduce((sum, value) => sum + utf8Bytes(JSON.stringify(value)), 0);

export function nodeEnvironment(
  record: SessionRecord,
  launch: LaunchSettings,
  link: { linkToken: string; jwks: object },
): Record<string, string> {
  return {
    [NodeEnv.sessionId]: record.id,
    [NodeEnv.projectId]: record.projectId,
    [NodeEnv.edgeUrl]: launch.edgeUrl,
    [NodeEnv.linkToken]: link.linkToken,
    [NodeEnv.connectMode]: launch.connectMode,
    [NodeEnv.jwks]: JSON.stringify(link.jwks),
    [NodeEnv.expiresAt]: new Date(record.expiresAt).toISOString(),
    [NodeEnv.keepAlive]: String(record.keepAlive),
    ...settingsEnvironment(launch),
  };
}
