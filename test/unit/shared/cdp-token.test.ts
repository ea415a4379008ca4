/**
 * The one check of the CDP token (edge/cdp-token.ts), which the edge runs before a client's
 * upgrade and the node's proxy in direct mode: every refusal and its reason, with real ES256 keys.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTVerifyGetKey } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { cdpTokenFrom, verifyCdpToken } from "../../../edge/cdp-token.ts";
import { CDP_TOKEN_AUDIENCE, TOKEN_ISSUER } from "../../../edge/node-protocol.ts";

const session = "5f0c6a8e-8d0b-4c57-9a5e-2f1a3b4c5d6e";
const project = "proj_1";
const now = () => Math.floor(Date.now() / 1000);

/** The edge's signing key, another key, and the edge's public keys as both checkers hold them. */
let edgeKey: CryptoKey;
let otherKey: CryptoKey;
let keys: JWTVerifyGetKey;

beforeAll(async () => {
  const edge = await generateKeyPair("ES256");
  edgeKey = edge.privateKey;
  otherKey = (await generateKeyPair("ES256")).privateKey;
  keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(edge.publicKey)), kid: "edge-1", alg: "ES256" }] });
});

interface TokenFields {
  claims?: Record<string, unknown>;
  sub?: string;
  aud?: string;
  iss?: string;
  exp?: number;
  nbf?: number;
  kid?: string;
  key?: CryptoKey;
}

/** A CDP token as the edge signs one (signCdpToken), with whatever the case changes. */
function token(fields: TokenFields = {}) {
  const jwt = new SignJWT({ pid: project, ...fields.claims })
    .setProtectedHeader({ alg: "ES256", kid: fields.kid ?? "edge-1", typ: "JWT" })
    .setIssuer(fields.iss ?? TOKEN_ISSUER)
    .setAudience(fields.aud ?? CDP_TOKEN_AUDIENCE)
    .setSubject(fields.sub ?? session)
    .setIssuedAt()
    .setExpirationTime(fields.exp ?? now() + 600);
  if (fields.nbf !== undefined) jwt.setNotBefore(fields.nbf);
  return jwt.sign(fields.key ?? edgeKey);
}

const check = async (t: string | undefined, projectId?: string) => verifyCdpToken(keys, t, { sessionId: session, projectId });

describe("verifyCdpToken", () => {
  it("accepts the edge's token for this session, with its claims and the token itself", async () => {
    const t = await token();
    const result = await check(t, project);
    expect(result).toMatchObject({ ok: true, token: t, claims: { sub: session, pid: project, aud: CDP_TOKEN_AUDIENCE, iss: TOKEN_ISSUER } });
  });

  it.each<[string, () => Promise<string | undefined>, string]>([
    ["no token", async () => undefined, "missing signing key"],
    ["an expired token", () => token({ exp: now() - 60 }), "signing key expired"],
    ["another session's token", () => token({ sub: "another-session" }), "signing key is for another session"],
    ["a token not valid yet", () => token({ nbf: now() + 600 }), "signing key not yet valid"],
    ["a node token (another audience)", () => token({ aud: "wallcrawler-node" }), "signing key aud claim rejected"],
    ["another issuer's token", () => token({ iss: "someone-else" }), "signing key iss claim rejected"],
    ["a token of a key the edge does not have", () => token({ kid: "unknown", key: otherKey }), "signing key not signed by the edge"],
    ["a token signed by another key under the edge's kid", () => token({ key: otherKey }), "signing key signature invalid"],
    ["an HS256 token", () => new SignJWT({ pid: project }).setProtectedHeader({ alg: "HS256", kid: "edge-1" }).setSubject(session).sign(new Uint8Array(32)), "signing key algorithm not allowed"],
    ["no JWT at all", async () => "not.a.token", "signing key invalid"],
    ["a token without its project", () => token({ claims: { pid: 7 } }), "signing key has malformed claims"],
  ])("refuses %s", async (_, make, reason) => {
    expect(await check(await make(), project)).toEqual({ ok: false, reason });
  });

  it("refuses another project's token when it knows the project (the node), and leaves that to the caller otherwise (the edge)", async () => {
    const t = await token({ claims: { pid: "proj_2" } });
    expect(await check(t, project)).toEqual({ ok: false, reason: "signing key is for another project" });
    expect(await check(t)).toMatchObject({ ok: true, claims: { pid: "proj_2" } });
  });

  it("says the keys were not there, not that the token is bad, when fetching them failed", async () => {
    const unreachable: JWTVerifyGetKey = async () => {
      throw new Error("edge keys answered 503");
    };
    expect(await verifyCdpToken(unreachable, await token(), { sessionId: session })).toEqual({ ok: false, reason: "edge keys unavailable" });
  });
});

describe("cdpTokenFrom", () => {
  const none = { signingKey: null, authorization: undefined, signingKeyHeader: undefined };

  it("takes the query first, then a Bearer authorization, then x-bb-signing-key", () => {
    expect(cdpTokenFrom({ signingKey: "q", authorization: "Bearer a", signingKeyHeader: "h" })).toBe("q");
    expect(cdpTokenFrom({ ...none, authorization: "bearer   a ", signingKeyHeader: "h" })).toBe("a");
    expect(cdpTokenFrom({ ...none, authorization: "Basic dXNlcg==", signingKeyHeader: "h" })).toBe("h");
    expect(cdpTokenFrom({ ...none, signingKey: "", signingKeyHeader: "h" })).toBe("h");
  });

  it("has no token when none is there", () => {
    expect(cdpTokenFrom(none)).toBeUndefined();
    expect(cdpTokenFrom({ signingKey: "", authorization: "", signingKeyHeader: "" })).toBeUndefined();
  });
});
