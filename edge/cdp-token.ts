/**
 * The CDP token (the session's `signingKey`) as both of its checkers read it: the Worker before a
 * client's upgrade (edge mode) and the node's proxy (direct mode). One copy of the rules and of
 * the refusal reasons, so a client sees the same answer whichever way it connects.
 *
 * Shared by both sides: jose (in both bundles already), no Workers or Node APIs. The caller brings
 * the key set: the edge its own, the node the edge's public keys.
 */
import { errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { CDP_TOKEN_AUDIENCE, TOKEN_ALGORITHM, TOKEN_ISSUER, type CdpTokenClaims } from "./node-protocol.ts";

export type CdpTokenCheck = { ok: true; token: string; claims: CdpTokenClaims } | { ok: false; reason: string };

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
export async function verifyCdpToken(
  keys: JWTVerifyGetKey,
  token: string | undefined,
  expected: { sessionId: string; projectId?: string },
): Promise<CdpTokenCheck> {
  if (!token) return { ok: false, reason: "missing signing key" };
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: [TOKEN_ALGORITHM],
      issuer: TOKEN_ISSUER,
      audience: CDP_TOKEN_AUDIENCE,
      subject: expected.sessionId,
      requiredClaims: ["exp", "sub", "iat"],
      clockTolerance: CLOCK_TOLERANCE_S,
    });
    // jose has checked iss, aud, sub and the times; what is left of the claims' shape:
    if (typeof payload.pid !== "string" || !Number.isInteger(payload.iat) || !Number.isInteger(payload.exp))
      return { ok: false, reason: "signing key has malformed claims" };
    if (expected.projectId !== undefined && payload.pid !== expected.projectId) return { ok: false, reason: "signing key is for another project" };
    return { ok: true, token, claims: payload as unknown as CdpTokenClaims };
  } catch (error) {
    return { ok: false, reason: refusal(error) };
  }
}

function refusal(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "signing key expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "sub") return "signing key is for another session";
    if (error.claim === "nbf") return "signing key not yet valid";
    return `signing key ${error.claim} claim rejected`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "signing key signature invalid";
  if (error instanceof errors.JOSEAlgNotAllowed) return "signing key algorithm not allowed";
  if (error instanceof errors.JWKSNoMatchingKey) return "signing key not signed by the edge";
  if (error instanceof errors.JOSEError) return "signing key invalid";
  // Not a verdict on the token: getting the keys failed (the node fetches them from the edge).
  return "edge keys unavailable";
}
