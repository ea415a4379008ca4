/**
 * Verifies the session's CDP token (`signingKey`) before any proxying: algorithm pinned to the
 * protocol's, signature against the edge's public keys, issuer, audience, `sub` equal to this
 * node's session, the project, and `exp`/`nbf`. Everything else fails closed.
 */
import type { IncomingMessage } from "node:http";
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from "jose";
import { CDP_TOKEN_AUDIENCE, TOKEN_ALGORITHM, TOKEN_ISSUER, type CdpTokenClaims } from "../edge/node-protocol.ts";
import { edgeKeySet } from "./edge-keys.ts";

export type TokenCheck = { ok: true; token: string; claims: CdpTokenClaims } | { ok: false; reason: string };

export interface TokenVerifier {
  verify(token: string | undefined): Promise<TokenCheck>;
}

/** The token from, in order: `signingKey` query, `Authorization: Bearer`, `x-bb-signing-key`. */
export function tokenFromRequest(req: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get("signingKey");
  if (fromQuery) return fromQuery;
  const auth = req.headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, "").trim();
  const header = req.headers["x-bb-signing-key"];
  return (Array.isArray(header) ? header[0] : header) || undefined;
}

const CLOCK_TOLERANCE_S = 5;

export function createTokenVerifier(options: {
  sessionId: string;
  projectId: string;
  jwks?: { keys: Record<string, unknown>[] };
  edgeUrl: URL;
}): TokenVerifier {
  const keys = options.jwks ? createLocalJWKSet(options.jwks as JSONWebKeySet) : edgeKeySet(options.edgeUrl);

  async function verify(token: string | undefined): Promise<TokenCheck> {
    if (!token) return { ok: false, reason: "missing signing key" };
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: [TOKEN_ALGORITHM],
        issuer: TOKEN_ISSUER,
        audience: CDP_TOKEN_AUDIENCE,
        subject: options.sessionId,
        requiredClaims: ["exp", "sub", "iat"],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      // jose has checked iss, aud, sub and the times; what is left of the claims' shape:
      if (typeof payload.pid !== "string" || !Number.isInteger(payload.iat) || !Number.isInteger(payload.exp)) {
        return { ok: false, reason: "signing key has malformed claims" };
      }
      if (payload.pid !== options.projectId) return { ok: false, reason: "signing key is for another project" };
      return { ok: true, token, claims: payload as unknown as CdpTokenClaims };
    } catch (err) {
      return { ok: false, reason: describe(err) };
    }
  }
  return { verify };
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "signing key expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "sub") return "signing key is for another session";
    if (err.claim === "nbf") return "signing key not yet valid";
    return `signing key ${err.claim} claim rejected`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return "signing key signature invalid";
  if (err instanceof errors.JOSEAlgNotAllowed) return "signing key algorithm not allowed";
  if (err instanceof errors.JWKSNoMatchingKey) return "signing key not signed by the edge";
  if (err instanceof errors.JOSEError) return "signing key invalid";
  return "edge keys unavailable"; // not a verdict on the token: fetching the keys failed
}
