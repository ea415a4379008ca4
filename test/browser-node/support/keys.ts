/** Test signing keys, made at run time with jose; tokens shaped as the edge signs them. */
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { CDP_TOKEN_AUDIENCE, LINK_TOKEN_AUDIENCE, NODE_TOKEN_AUDIENCE, POOL_LINK_TOKEN_AUDIENCE, TOKEN_ALGORITHM, TOKEN_ISSUER } from "../../../edge/node-protocol.ts";

export interface SigningKey {
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  publicJwk: JWK;
  jwks: { keys: JWK[] };
}

export async function makeSigningKey(kid = "test-key"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALGORITHM, use: "sig" };
  return { privateKey, publicJwk, jwks: { keys: [publicJwk] } };
}

export interface TokenClaims {
  sub: string;
  pid: string;
  iss?: string;
  aud?: string;
  /** Seconds from now. */
  expIn?: number;
  nbfIn?: number;
}

export async function signCdpToken(key: SigningKey, claims: TokenClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ pid: claims.pid })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.publicJwk.kid })
    .setIssuer(claims.iss ?? TOKEN_ISSUER)
    .setAudience(claims.aud ?? CDP_TOKEN_AUDIENCE)
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expIn ?? 3600));
  if (claims.nbfIn !== undefined) jwt.setNotBefore(now + claims.nbfIn);
  return jwt.sign(key.privateKey);
}

/** A session link token (from the assignment) or a node token, as the edge signs them. */
export async function signNodeSideToken(
  key: SigningKey,
  kind: "link" | "node",
  claims: { sub: string; aud?: string; expIn?: number },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.publicJwk.kid })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(claims.aud ?? (kind === "link" ? LINK_TOKEN_AUDIENCE : NODE_TOKEN_AUDIENCE))
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expIn ?? 3600))
    .sign(key.privateKey);
}

/** A bootstrap token (the node's only credential at boot: it opens its pool link), as the edge signs it. */
export async function signBootstrapToken(key: SigningKey, claims: { sub: string; pool: string; aud?: string; expIn?: number }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ pool: claims.pool })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.publicJwk.kid })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(claims.aud ?? POOL_LINK_TOKEN_AUDIENCE)
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expIn ?? 3600))
    .sign(key.privateKey);
}
