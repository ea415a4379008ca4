/**
 * The edge checks a client's CDP token with the node proxy's rules BEFORE any upgrade: every
 * forged or misused token is a 401 naming the proxy's reason, the socket is never upgraded, and
 * the node is never asked to open anything. Tokens are built here with jose, keys made at run time.
 */
import { base64url, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { CDP_TOKEN_AUDIENCE, NODE_TOKEN_AUDIENCE, TOKEN_ISSUER } from "../../edge/node-protocol.ts";
import type { FakeNode } from "./fake-node.ts";
import { upgrade } from "./fake-node.ts";
import { env, newProject, raw, startSession } from "./helpers.ts";

const now = () => Math.floor(Date.now() / 1000);

interface Claims {
  iss?: string;
  aud?: string;
  sub?: string;
  pid?: string;
  iat?: number;
  exp?: number;
  nbf?: number;
}

async function sign(claims: Claims, key?: { jwk: JWK; kid: string }): Promise<string> {
  const signing = key ?? { jwk: JSON.parse(env.SIGNING_KEY!) as JWK, kid: (JSON.parse(env.SIGNING_KEY!) as JWK).kid! };
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "ES256", kid: signing.kid, typ: "JWT" })
    .sign(await importJWK({ ...signing.jwk, alg: "ES256" }, "ES256"));
}

describe("CDP tokens at the edge", () => {
  let sessionId: string;
  let projectId: string;
  let node: FakeNode;
  const attacks: [name: string, token: () => Promise<string | undefined>, reason: string][] = [];
  beforeAll(async () => {
    const p = await newProject({ name: "cdp tokens" });
    const started = await startSession(p.key, p.projectId);
    sessionId = started.node.sessionId;
    projectId = p.projectId;
    node = started.node.link;
    const claims = (c: Claims = {}): Claims => ({ iss: TOKEN_ISSUER, aud: CDP_TOKEN_AUDIENCE, sub: sessionId, pid: projectId, iat: now(), exp: now() + 600, ...c });
    const valid = await sign(claims());
    const [header, payload, signature] = valid.split(".");
    const edgeJwk = JSON.parse(env.SIGNING_KEY!) as JWK;
    const { d: _private, ...publicJwk } = edgeJwk;
    const other = async (kid: string) => ({ jwk: await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey), kid });
    attacks.push(
      ["none", async () => undefined, "missing signing key"],
      ["malformed", async () => "not-a-jwt", "signing key invalid"],
      ["expired", () => sign(claims({ iat: now() - 600, exp: now() - 120 })), "signing key expired"],
      ["not yet valid", () => sign(claims({ nbf: now() + 120 })), "signing key not yet valid"],
      ["wrong audience (a node token)", () => sign(claims({ aud: NODE_TOKEN_AUDIENCE })), "signing key aud claim rejected"],
      ["wrong issuer", () => sign(claims({ iss: "someone-else" })), "signing key iss claim rejected"],
      ["another session's token", () => sign(claims({ sub: crypto.randomUUID() })), "signing key is for another session"],
      ["another project's token", () => sign(claims({ pid: crypto.randomUUID() })), "signing key is for another project"],
      ["signed by another key, same kid", async () => sign(claims(), await other(edgeJwk.kid!)), "signing key signature invalid"],
      ["signed by another key, its own kid", async () => sign(claims(), await other("attacker")), "signing key not signed by the edge"],
      ["alg none", async () => `${base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url.encode(JSON.stringify(claims()))}.`, "signing key algorithm not allowed"],
      [
        "HS256 signed with the public key",
        () => new SignJWT({ ...claims() }).setProtectedHeader({ alg: "HS256", kid: edgeJwk.kid }).sign(new TextEncoder().encode(JSON.stringify(publicJwk))),
        "signing key algorithm not allowed",
      ],
      [
        "tampered payload",
        async () => `${header}.${base64url.encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(base64url.decode(payload))), sub: sessionId, exp: now() + 999_999 }))}.${signature}`,
        "signing key signature invalid",
      ],
    );
  });

  const paths = () => [`/cdp/${sessionId}`, `/cdp/${sessionId}/devtools/browser`, `/cdp/${sessionId}/devtools/page/ABC123`];

  it("refuses every forged or misused token with 401 and the proxy's reason, before any upgrade", async () => {
    for (const [name, make, reason] of attacks) {
      const token = await make();
      const query = token === undefined ? "" : `?signingKey=${encodeURIComponent(token)}`;
      for (const path of paths()) {
        const { res, ws, body } = await upgrade(path + query);
        expect(ws, `${name} at ${path}`).toBeUndefined();
        expect([res.status, body?.message], `${name} at ${path}`).toEqual([401, reason]);
      }
      if (token !== undefined) {
        const header = await upgrade(paths()[0], { authorization: `Bearer ${token}` });
        expect([header.res.status, header.body?.message], `${name} as a bearer`).toEqual([401, reason]);
        const bb = await upgrade(paths()[0], { "x-bb-signing-key": token });
        expect([bb.res.status, bb.body?.message], `${name} as x-bb-signing-key`).toEqual([401, reason]);
      }
      for (const json of ["/json/version", "/json/list/", "/json", "/json/protocol"]) {
        const res = await raw(`/cdp/${sessionId}${json}${query}`);
        expect([res.status, ((await res.json()) as { message: string }).message], `${name} at ${json}`).toEqual([401, reason]);
      }
    }
    expect(node.calls.filter((c) => c.op === "open" || c.op === "json")).toEqual([]);
  });

  it("says why without echoing the token", async () => {
    const expired = await attacks.find(([name]) => name === "expired")![1]();
    const res = await raw(`/cdp/${sessionId}/json/version?signingKey=${expired}`);
    const text = await res.text();
    expect(text).toMatch(/expired/);
    expect(text).not.toContain(expired!);
  });

  it("the same request with a valid token is upgraded, from the query, a bearer or x-bb-signing-key (the attacks fail for their flaw alone)", async () => {
    const token = await sign({ iss: TOKEN_ISSUER, aud: CDP_TOKEN_AUDIENCE, sub: sessionId, pid: projectId, iat: now(), exp: now() + 600 });
    for (const [path, headers] of [
      [`/cdp/${sessionId}?signingKey=${token}`, {}],
      [`/cdp/${sessionId}`, { authorization: `Bearer ${token}` }],
      [`/cdp/${sessionId}/devtools/browser`, { "x-bb-signing-key": token }],
    ] as const) {
      const { res, ws } = await upgrade(path, headers);
      expect(res.status).toBe(101);
      ws!.close(1000);
    }
    expect(node.calls.filter((c) => c.op === "open").length).toBe(3);
  });

  it("answers a plain GET on a socket path with 426, and unknown paths with 404", async () => {
    const token = await sign({ iss: TOKEN_ISSUER, aud: CDP_TOKEN_AUDIENCE, sub: sessionId, pid: projectId, iat: now(), exp: now() + 600 });
    const plain = await raw(`/cdp/${sessionId}?signingKey=${token}`);
    expect(plain.status).toBe(426);
    expect(plain.headers.get("upgrade")).toBe("websocket");
    expect((await raw(`/cdp/${sessionId}/nothing?signingKey=${token}`)).status).toBe(404);
    expect((await raw(`/cdp/not-a-session?signingKey=${token}`)).status).toBe(404);
  });
});
