/**
 * The proxy's check of the session's CDP token (`signingKey`) before any proxying (direct mode),
 * by the rules the edge applies too (edge/cdp-token.ts): against the edge's public keys, for this
 * node's session and project. Everything else fails closed.
 */
import type { IncomingMessage } from "node:http";
import { createLocalJWKSet, type JSONWebKeySet } from "jose";
import { cdpTokenFrom, verifyCdpToken, verifyLiveToken, type CdpTokenCheck, type LiveTokenCheck } from "../edge/cdp-token.ts";
import { edgeKeySet } from "./edge-keys.ts";

export interface TokenVerifier {
  verify(token: string | undefined): Promise<CdpTokenCheck>;
  /** The live view's token (direct mode's `/live` socket): another audience, never a CDP token. */
  verifyLive(token: string | undefined): Promise<LiveTokenCheck>;
}

/** The token from, in order: `signingKey` query, `Authorization: Bearer`, `x-bb-signing-key`. */
export function tokenFromRequest(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers["x-bb-signing-key"];
  return cdpTokenFrom({
    signingKey: url.searchParams.get("signingKey"),
    authorization: req.headers.authorization,
    signingKeyHeader: Array.isArray(header) ? header[0] : header,
  });
}

export function createTokenVerifier(options: {
  sessionId: string;
  projectId: string;
  jwks?: { keys: Record<string, unknown>[] };
  edgeUrl: URL;
}): TokenVerifier {
  const keys = options.jwks ? createLocalJWKSet(options.jwks as JSONWebKeySet) : edgeKeySet(options.edgeUrl);
  const expected = { sessionId: options.sessionId, projectId: options.projectId };
  return { verify: (token) => verifyCdpToken(keys, token, expected), verifyLive: (token) => verifyLiveToken(keys, token, expected) };
}
