/** The proxy's gate: a valid session token, or the node's own readiness probe from loopback. */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { tokenFromRequest } from "../auth.ts";
import type { ProxyContext } from "./context.ts";

export const READINESS_HEADER = "x-wc-readiness";

export type Admission = { ok: true; token?: string; expiresAt?: number } | { ok: false; reason: string };

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

function isReadinessProbe(ctx: ProxyContext, req: IncomingMessage): boolean {
  const given = req.headers[READINESS_HEADER];
  if (typeof given !== "string" || !LOOPBACK.has(req.socket.remoteAddress ?? "")) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(ctx.readinessSecret);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function authenticate(ctx: ProxyContext, req: IncomingMessage, url: URL): Promise<Admission> {
  if (isReadinessProbe(ctx, req)) return { ok: true };
  const check = await ctx.verifier.verify(tokenFromRequest(req, url));
  if (!check.ok) return check;
  return { ok: true, token: check.token, expiresAt: check.claims.exp * 1000 };
}
