/** How /v1 routes stay within the API key's project: every object they reach is looked up through it. */
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { SESSION_ID } from "../sessions/session-record.ts";

/** The session's object; an id that cannot be a session is simply not found. */
export const sessionStub = (env: AppEnv["Bindings"], id: string) => {
  if (!SESSION_ID.test(id.toLowerCase())) throw new ApiError(404, "Session not found");
  return env.SESSIONS.getByName(id.toLowerCase());
};

/** A body's `projectId`, when given, must be the key's own. */
export const sameProject = (given: string | undefined, projectId: string) => {
  if (given !== undefined && given !== projectId) throw new ApiError(403, "projectId does not match the API key's project");
};

/** The base URL clients reach the edge at (for URLs the edge hands out). */
export const edgeOrigin = (publicUrl: string | undefined, requestUrl: string) => publicUrl ?? new URL(requestUrl).origin;
