/**
 * Structured logs: one JSON object per line. Callers pass only what is safe to keep: never an API
 * key, a token, a secret or a request's query string.
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Lines below this level are not even built: a line costs the isolate's time on every create. */
let least = RANK.info;

/**
 * Applies LOG_LEVEL (wrangler.toml; "info" when unset). Each entry point calls it with its
 * bindings (the Worker's handlers and each Durable Object, which may run in an isolate of its
 * own); a value config.ts refuses leaves "info" here, and the edge answers that it is misconfigured.
 */
export function useLogLevel(env: { LOG_LEVEL?: string }) {
  least = RANK[env.LOG_LEVEL as LogLevel] ?? RANK.info;
}

export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}) {
  if (RANK[level] < least) return;
  const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
