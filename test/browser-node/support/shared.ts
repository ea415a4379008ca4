/** Access to the shared node from test files: its address and a way to sign tokens for it. */
import { importJWK } from "jose";
import { inject } from "vitest";
import { signCdpToken, type SigningKey, type TokenClaims } from "./keys.ts";

export const shared = () => inject("sharedNode");

export async function sharedKey(): Promise<SigningKey> {
  const node = shared();
  const privateKey = (await importJWK(node.privateJwk, "ES256")) as SigningKey["privateKey"];
  return { privateKey, publicJwk: node.publicJwk, jwks: { keys: [node.publicJwk] } };
}

/** A valid token for the shared node, with any claim overridden. */
export async function sharedToken(overrides: Partial<TokenClaims> = {}, key?: SigningKey): Promise<string> {
  const node = shared();
  return signCdpToken(key ?? (await sharedKey()), { sub: node.sessionId, pid: node.projectId, ...overrides });
}
