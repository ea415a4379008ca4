/**
 * The CDP token (the session's `signingKey`) as both of its checkers read it: the Worker before a
 * client's upgrade (edge mode) and the node's proxy (direct mode). One copy of the rules and of
 * the refusal reasons, so a client sees the same answer whichever way it connects.
 *
 * Shared by both sides: jose (in both bundles already), no Workers or Node APIs. The caller brings
 * the key set: the edge its own, the node the edge's public keys.
 */
import { errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { CDP_TOKEN_AUDIENCE, LIVE_TOKEN_AUDIENCE, TOKEN_ALGORITHM, TOKEN_ISSUER, type CdpTokenClaims, type LiveTokenClaims } from "./node-protocol.ts";

export type CdpTokenCheck = { ok: true; token: string; claims: CdpTokenClaims } | { ok: false; reason: string };
export type LiveTokenCheck = { ok: true; token: string; claims: LiveTokenClaims } | { ok: false; reason: string };

/** Where a client may put its token, as a request carries it (a header absent: null or undefined). */
export interface CdpTokenSources {
  /** The `signingKey` query parameter. */
  signingKey: string | null | undefined;
  authorization: string | null | undefined;
  /** The `x-bb-signing-key` header. */
  signingKeyHeader: string | null | undefined;
}

const CLOCK_TOLERANCE_S = 5;

/** The token from, in order: `signingKey` query, `Authorization: Bearer`, `x-bb-signing-key`. */
export function cdpTokenFrom(sources: CdpTokenSources): string | undefined {
  if (sources.signingKey) return sources.signingKey;
  const auth = sources.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, "").trim();
  return sources.signingKeyHeader || undefined;
}

/**
 * Checks `token` for the session `sessionId` (and, when given, the project `projectId`): the
 * algorithm pinned, the signature against `keys`, issuer, audience, subject, `exp`/`nbf`, the
 * claims' shape. Everything else fails closed, with a reason the client may read.
 */
export const verifyCdpToken = (keys: JWTVerifyGetKey, token: string | undefined, expected: { sessionId: string; projectId?: string }) =>
  verifySessionToken(keys, token, expected, CDP_TOKEN_AUDIENCE, "signing key") as Promise<CdpTokenCheck>;

/** The live view's token (`token` query), by the same rules; a read-only claim must be `true` when present. */
export async function verifyLiveToken(keys: JWTVerifyGetKey, token: string | undefined, expected: { sessionId: string; projectId?: string }): Promise<LiveTokenCheck> {
  const check = await verifySessionToken(keys, token, expected, LIVE_TOKEN_AUDIENCE, "live token");
  if (check.ok && check.claims.ro !== undefined && check.claims.ro !== true) return { ok: false, reason: "live token has malformed claims" };
  return check as LiveTokenCheck;
}

async function verifySessionToken(
  keys: JWTVerifyGetKey,
  token: string | undefined,
  expected: { sessionId: string; projectId?: string },
  audience: string,
  noun: string,
): Promise<{ ok: true; token: string; claims: Record<string, unknown> & { pid: string; exp: number } } | { ok: false; reason: string }> {
  if (!token) return { ok: false, reason: `missing ${noun}` };
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: [TOKEN_ALGORITHM],
      issuer: TOKEN_ISSUER,
      audience,
      subject: expected.sessionId,
      requiredClaims: ["exp", "sub", "iat"],
      clockTolerance: CLOCK_TOLERANCE_S,
    });
    // jose has checked iss, aud, sub and the times; what is left of the claims' shape:
    if (typeof payload.pid !== "string" || !Number.isInteger(payload.iat) || !Number.isInteger(payload.exp))
      return { ok: false, reason: `${noun} has malformed claims` };
    if (expected.projectId !== undefined && payload.pid !== expected.projectId) return { ok: false, reason: `${noun} is for another project` };
    return { ok: true, token, claims: payload as Record<string, unknown> & { pid: string; exp: number } };
  } catch (error) {
    return { ok: false, reason: refusal(error, noun) };
  }
}

function refusal(error: unknown, noun: string): string {
  if (error instanceof errors.JWTExpired) return `${noun} expired`;
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "sub") return `${noun} is for another session`;
    if (error.claim === "nbf") return `${noun} not yet valid`;
    return `${noun} ${error.claim} claim rejected`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return `${noun} signature invalid`;
  if (error instanceof errors.JOSEAlgNotAllowed) return `${noun} algorithm not allowed`;
  if (error instanceof errors.JWKSNoMatchingKey) return `${noun} not signed by the edge`;
  if (error instanceof errors.JOSEError) return `${noun} invalid`;
  // Not a verdict on the token: getting the keys failed (the node fetches them from the edge).
  return "edge keys unavailable";
}
