/**
 * The environment a session's browser node starts with (RunTask container overrides). ECS caps
 * all overrides of one RunTask at 8 KiB of JSON; the rest of them (tokens, JWKS) take about
 * 1.1 KiB, so the create route refuses `browserSettings` that take more than
 * MAX_BROWSER_SETTINGS_BYTES there.
 */
import { NodeEnv } from "../node-protocol.ts";
import { utf8Bytes } from "./input-bounds.ts";
import type { Json, SessionRecord } from "./session-record.ts";

export const MAX_BROWSER_SETTINGS_BYTES = 6144;

export interface LaunchSettings {
  /** `browserSettings` as the client sent it, with the top-level extensionId folded in. */
  browserSettings: Record<string, Json>;
  /** Base URL of the edge for the node's callbacks. */
  edgeUrl: string;
}

const settingsValue = (browserSettings: Record<string, Json>) => JSON.stringify(browserSettings);

/**
 * The UTF-8 bytes the settings take in RunTask's JSON body (which the ECS client writes with
 * JSON.stringify): their JSON as a string value there, its escapes included.
 */
export const browserSettingsBytes = (browserSettings: Record<string, Json>) => utf8Bytes(JSON.stringify(settingsValue(browserSettings)));

export function nodeEnvironment(
  record: SessionRecord,
  launch: LaunchSettings,
  secrets: { nodeToken: string; jwks: object },
): Record<string, string> {
  return {
    [NodeEnv.sessionId]: record.id,
    [NodeEnv.projectId]: record.projectId,
    [NodeEnv.edgeUrl]: launch.edgeUrl,
    [NodeEnv.nodeToken]: secrets.nodeToken,
    [NodeEnv.jwks]: JSON.stringify(secrets.jwks),
    [NodeEnv.expiresAt]: new Date(record.expiresAt).toISOString(),
    [NodeEnv.keepAlive]: String(record.keepAlive),
    [NodeEnv.browserSettings]: settingsValue(launch.browserSettings),
  };
}
