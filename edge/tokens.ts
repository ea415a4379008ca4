/**
 * The tokens the edge signs with its private key (the `SIGNING_KEY` secret, an ES256 JWK with a
 * `kid`): the CDP token a client presents to a node (the session's `signingKey`) and the node
 * token a node presents on its callbacks. Only the public half leaves the edge, as the JWKS.
 */
import { importJWK, jwtVerify, SignJWT, type JWK } from "jose";
import { CDP_TOKEN_AUDIENCE, NODE_TOKEN_AUDIENCE, TOKEN_ALGORITHM, TOKEN_ISSUER } from "./node-protocol.ts";
import { NodeTokenClaims } from "./schemas/node-messages.ts";
import { ApiError } from "./errors.ts";
import { secret, type EdgeEnv } from "./env.ts";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
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
  };
}

export const jwks = (key: SigningKey) => ({ keys: [key.publicJwk] });

const seconds = (ms: number) => Math.floor(ms / 1000);

const sign = (key: SigningKey, audience: string, sessionId: string, expiresAtMs: number, claims: Record<string, string> = {}) =>
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

/** Authenticates one node's callbacks for its own session. */
export const signNodeToken = (key: SigningKey, c: { sessionId: string; expiresAtMs: number }) =>
  sign(key, NODE_TOKEN_AUDIENCE, c.sessionId, c.expiresAtMs);

/** Throws 401 unless `token` is a valid node token for exactly `sessionId`. */
export async function verifyNodeToken(key: SigningKey, token: string, sessionId: string): Promise<void> {
  try {
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [TOKEN_ALGORITHM],
      issuer: TOKEN_ISSUER,
      audience: NODE_TOKEN_AUDIENCE,
    });
    const claims = NodeTokenClaims.parse(payload);
    if (claims.sub === sessionId) return;
  } catch {
    // fall through: every failure is the same 401
  }
  throw new ApiError(401, "Invalid node token for this session");
}
