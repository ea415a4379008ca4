/**
 * The tokens the edge signs with its private key (the `SIGNING_KEY` secret, an ES256 JWK with a
 * `kid`): the CDP token a client presents (the session's `signingKey`), the bootstrap token a
 * node boots with (it opens the node's pool link and nothing else), the link token its assignment
 * brings (it opens the session's link and nothing else), the node token that link hands it
 * (its artifact requests), and the live view's token (a session's screencast and input). Only the
 * public half leaves the edge, as the JWKS.
 */
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT, type JWK, type JWTVerifyGetKey } from "jose";
import {
  CDP_TOKEN_AUDIENCE,
  LINK_TOKEN_AUDIENCE,
  LIVE_TOKEN_AUDIENCE,
  NODE_TOKEN_AUDIENCE,
  POOL_LINK_TOKEN_AUDIENCE,
  TOKEN_ALGORITHM,
  TOKEN_ISSUER,
} from "./node-protocol.ts";
import { NodeTokenClaims, PoolLinkTokenClaims } from "./schemas/node-messages.ts";
import { ApiError } from "./errors.ts";
import { secret, type EdgeEnv } from "./env.ts";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  /** The JWKS as the node's proxy holds it, so a token of another key fails the same way on both. */
  keySet: JWTVerifyGetKey;
}

// Importing a JWK costs more than signing with it; keep the imported key per secret value.
const imported = new Map<string, Promise<SigningKey>>();

export function signingKey(env: EdgeEnv): Promise<SigningKey> {
  const raw = secret(env, "SIGNING_KEY");
  if (!raw) throw new ApiError(503, "The edge has no SIGNING_KEY configured", { retry: false });
  let key = imported.get(raw);
  if (!key) {
    key = importSigningKey(raw);
    key.catch(() => imported.delete(raw));
    imported.set(raw, key);
  }
  return key;
}

async function importSigningKey(raw: string): Promise<SigningKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(raw) as JWK;
  } catch {
    throw new ApiError(503, "SIGNING_KEY is not a JSON Web Key", { retry: false });
  }
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d || !jwk.kid)
    throw new ApiError(503, "SIGNING_KEY must be a private P-256 (ES256) JWK with a kid", { retry: false });
  const { d: _private, ...publicJwk } = jwk;
  const withAlg = { ...publicJwk, alg: TOKEN_ALGORITHM, use: "sig" };
  return {
    kid: jwk.kid,
    privateKey: (await importJWK({ ...jwk, alg: TOKEN_ALGORITHM }, TOKEN_ALGORITHM)) as CryptoKey,
    publicKey: (await importJWK(withAlg, TOKEN_ALGORITHM)) as CryptoKey,
    publicJwk: withAlg,
    keySet: createLocalJWKSet({ keys: [withAlg] }),
  };
}

export const jwks = (key: SigningKey) => ({ keys: [key.publicJwk] });

const seconds = (ms: number) => Math.floor(ms / 1000);

const sign = (key: SigningKey, audience: string, sessionId: string, expiresAtMs: number, claims: Record<string, string | boolean> = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: "JWT" })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(audience)
    .setSubject(sessionId)
    .setIssuedAt()
    .setExpirationTime(seconds(expiresAtMs))
    .sign(key.privateKey);

/** The session's `signingKey`: opens this session's node, and only it, until `expiresAtMs`. */
export const signCdpToken = (key: SigningKey, c: { sessionId: string; projectId: string; expiresAtMs: number }) =>
  sign(key, CDP_TOKEN_AUDIENCE, c.sessionId, c.expiresAtMs, { pid: c.projectId });

/** The live view's token: this session's screencast and input (read-only: only the screencast), never CDP. */
export const signLiveToken = (key: SigningKey, c: { sessionId: string; projectId: string; expiresAtMs: number; readOnly?: boolean }) =>
  sign(key, LIVE_TOKEN_AUDIENCE, c.sessionId, c.expiresAtMs, c.readOnly ? { pid: c.projectId, ro: true } : { pid: c.projectId });

/** A node's tokens outlive its session's expiresAt a little: the node still ships its artifacts after it. */
export const nodeTokenExpiry = (sessionExpiresAt: number) => sessionExpiresAt + 15 * 60_000;

/** Authenticates one node's artifact requests for its own session; the link hands it over. */
export const signNodeToken = (key: SigningKey, c: { sessionId: string; expiresAtMs: number }) =>
  sign(key, NODE_TOKEN_AUDIENCE, c.sessionId, c.expiresAtMs);

/** The session link's credential (it travels in the node's assignment): opens its session's link, nothing else. */
export const signLinkToken = (key: SigningKey, c: { sessionId: string; expiresAtMs: number }) =>
  sign(key, LINK_TOKEN_AUDIENCE, c.sessionId, c.expiresAtMs);

/** Whether `token` is a token of `audience` (node or link) for exactly `sessionId`. */
async function isSessionToken(key: SigningKey, token: string, sessionId: string, audience: string): Promise<boolean> {
  try {
    const { payload } = await jwtVerify(token, key.publicKey, { algorithms: [TOKEN_ALGORITHM], issuer: TOKEN_ISSUER, audience });
    return NodeTokenClaims.omit({ aud: true }).parse(payload).sub === sessionId;
  } catch {
    return false; // every failure is the same 401
  }
}

/** Throws 401 unless `token` is a valid node token for exactly `sessionId`. */
export async function verifyNodeToken(key: SigningKey, token: string, sessionId: string): Promise<void> {
  if (!(await isSessionToken(key, token, sessionId, NODE_TOKEN_AUDIENCE))) throw new ApiError(401, "Invalid node token for this session");
}

/** Throws 401 unless `token` is a valid link token for exactly `sessionId`. */
export async function verifyLinkToken(key: SigningKey, token: string, sessionId: string): Promise<void> {
  if (!(await isSessionToken(key, token, sessionId, LINK_TOKEN_AUDIENCE))) throw new ApiError(401, "Invalid link token for this session");
}

/** A pool member's bootstrap credential (its environment): opens its own pool link, nothing else. */
export const signPoolLinkToken = (key: SigningKey, c: { pool: string; memberId: string; expiresAtMs: number }) =>
  sign(key, POOL_LINK_TOKEN_AUDIENCE, c.memberId, c.expiresAtMs, { pool: c.pool });

/** Throws 401 unless `token` is a valid bootstrap token for exactly `memberId` of `pool`. */
export async function verifyPoolLinkToken(key: SigningKey, token: string, pool: string, memberId: string): Promise<void> {
  let claims: { sub: string; pool: string } | undefined;
  try {
    const { payload } = await jwtVerify(token, key.publicKey, { algorithms: [TOKEN_ALGORITHM], issuer: TOKEN_ISSUER, audience: POOL_LINK_TOKEN_AUDIENCE });
    claims = PoolLinkTokenClaims.parse(payload);
  } catch {
    // every failure is the same 401
  }
  if (claims?.sub !== memberId || claims.pool !== pool) throw new ApiError(401, "Invalid bootstrap token for this pool member");
}
