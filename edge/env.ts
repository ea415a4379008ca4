/**
 * The edge's bindings: what `wrangler types` generates from wrangler.toml, plus the secrets, which
 * live outside it (`wrangler secret put`, `.dev.vars`) and may be unset: every reader treats an
 * empty or missing secret as "not configured" and fails closed.
 */
export type SecretName =
  | "SIGNING_KEY"
  | "ADMIN_TOKEN"
  | "TASK_EVENTS_SECRET"
  | "AWS_ACCESS_KEY_ID"
  | "AWS_SECRET_ACCESS_KEY"
  | "AWS_SESSION_TOKEN"
  /** JSON: location → managed proxy URL, for `proxies: true` and `browserbase` entries (sessions/proxy-routes.ts). */
  | "MANAGED_PROXIES";

export type EdgeEnv = Env & Partial<Record<SecretName, string>>;

/** A secret's value, or undefined when it is unset or empty. */
export const secret = (env: EdgeEnv, name: SecretName): string | undefined => env[name] || undefined;

/** Hono's context types for the app: bindings, and what the middleware sets per request. */
export interface AppEnv {
  Bindings: EdgeEnv;
  Variables: {
    requestId: string;
    /** The project of the request's API key (set by the API-key middleware on /v1). */
    projectId: string;
  };
}
