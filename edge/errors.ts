/**
 * The one error type of the edge and the one place it becomes an HTTP answer: JSON `{message}`,
 * never a stack trace. `retry` sets `x-should-retry`, which the Browserbase SDK obeys before its
 * own rules (it retries 408, 409, 429 and 5xx otherwise).
 */
import type { Context } from "hono";
import type { AppEnv } from "./env.ts";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import type { Hook } from "@hono/zod-openapi";
import { log } from "./log.ts";

export interface ErrorShape {
  status: ContentfulStatusCode;
  message: string;
  retry?: boolean;
}

/**
 * A failure the client is told about. `cause` (as Hono's HTTPException has it) is what went wrong
 * behind it, e.g. a node's own answer to a call: logged, never sent to the client.
 */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly retry?: boolean;
  constructor(status: ContentfulStatusCode, message: string, options: { retry?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.status = status;
    this.retry = options.retry;
  }
  toShape(): ErrorShape {
    return { status: this.status, message: this.message, retry: this.retry };
  }
  static from(shape: ErrorShape, cause?: unknown) {
    return new ApiError(shape.status, shape.message, { retry: shape.retry, cause });
  }
}

/**
 * What every Durable Object RPC method answers: RPC keeps a thrown error's message but not its
 * class or fields (it would become a 500), so failures cross as data, and the Worker's routes
 * turn them into an ApiError with `unwrap`.
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ErrorShape };
export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = (status: ContentfulStatusCode, message: string, retry?: boolean): Outcome<never> => ({
  ok: false,
  error: { status, message, retry },
});
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw ApiError.from(outcome.error);
}

type Issue = ZodError["issues"][number];

/**
 * A union's issue as the issues of the one option the value was meant for (the others fail on
 * its type alone), or as the types it may have when it fits none of them.
 */
function unionIssues(issue: Issue): Issue[] {
  if (issue.code !== "invalid_union" || !issue.errors.length) return [issue];
  const wrongType = (option: Issue[]) => option.length === 1 && option[0].code === "invalid_type" && option[0].path.length === 0;
  const meant = issue.errors.filter((option) => !wrongType(option));
  if (meant.length === 1) return meant[0].flatMap((inner) => unionIssues({ ...inner, path: [...issue.path, ...inner.path] } as Issue));
  if (meant.length === 0) {
    const types = issue.errors.map((option) => (option[0] as Issue & { expected?: string }).expected);
    return [{ ...issue, message: `Invalid input: expected ${types.join(" or ")}` }];
  }
  return [issue];
}

/** `browserSettings.viewport.width: Too small: expected number to be >=1` */
export function describeZodError(error: ZodError, prefix = ""): string {
  return error.issues
    .flatMap(unionIssues)
    .slice(0, 3)
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}

export function errorResponse(c: Context<AppEnv>, error: unknown): Response {
  let shape: ErrorShape;
  if (error instanceof ApiError) {
    shape = error.toShape();
    if (error.cause !== undefined)
      log(shape.status >= 500 ? "warn" : "info", "request.failed", { requestId: c.get("requestId"), status: shape.status, message: shape.message, cause: describeCause(error.cause) });
  } else if (error instanceof HTTPException) shape = { status: error.status as ContentfulStatusCode, message: error.message || "Bad request" };
  else {
    log("error", "unhandled", { requestId: c.get("requestId"), error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    shape = { status: 500, message: "Internal error" };
  }
  const headers: Record<string, string> = {};
  if (shape.retry !== undefined) headers["x-should-retry"] = String(shape.retry);
  return c.json({ message: shape.message }, shape.status, headers);
}

function describeCause(cause: unknown): unknown {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return cause;
}

/** Every route's validation hook: a value that does not fit its schema is a 400 naming the field. */
export const validationHook: Hook<unknown, AppEnv, string, undefined> = (result) => {
  if (!result.success) throw new ApiError(400, describeZodError(result.error));
};
