/**
 * Structured logs: one JSON object per line on stdout, one line per event. CloudWatch (awslogs)
 * and the local stand-in both read stdout line by line.
 *
 * Tokens never belong in a log. Callers do not pass them, and as a second line of defence every
 * string field is scrubbed of anything shaped like a JWT.
 */
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;

let context: Record<string, unknown> = {};

/** Fields added to every later line (the session id, once the configuration is read). */
export function setLogContext(fields: Record<string, unknown>) {
  context = { ...context, ...fields };
}

export function redact(value: unknown): unknown {
  if (typeof value === "string") return value.replace(JWT_SHAPE, "[redacted]");
  if (value instanceof Error) return redact(value.message);
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v)]));
  }
  return value;
}

/**
 * Whoever read stdout is gone (locally: the platform died under its nodes). Logging stops; the
 * node goes on and ends as its links tell it. Without this every write's EPIPE came back as an
 * uncaught exception, whose own log line failed again: a loop that kept orphaned nodes spinning.
 */
let stdoutGone = false;
process.stdout.on("error", () => {
  stdoutGone = true;
});

export function log(event: string, fields: Record<string, unknown> = {}, level: "info" | "warn" | "error" = "info") {
  if (stdoutGone) return;
  const line = { time: new Date().toISOString(), level, event, ...context, ...(redact(fields) as object) };
  process.stdout.write(JSON.stringify(line) + "\n");
}
