/**
 * Every way to present a bad token gets 401 before any upgrade, on HTTP and on WebSocket.
 * The tokens are built here with jose from keys made at run time.
 */
import { request } from "node:http";
import { base64url, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { CDP_TOKEN_AUDIENCE, TOKEN_ISSUER } from "../../edge/node-protocol.ts";
import { makeSigningKey } from "./support/keys.ts";
import { shared, sharedToken } from "./support/shared.ts";

const attacks: Record<string, () => Promise<string | undefined>> = {};

beforeAll(async () => {
  const node = shared();
  const valid = await sharedToken();
  const [header, payload] = valid.split(".");
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: TOKEN_ISSUER, aud: CDP_TOKEN_AUDIENCE, sub: node.sessionId, pid: node.projectId, iat: now, exp: now + 600 };
  const otherKey = await makeSigningKey("test-key"); // same kid, different key
  const publicKeyBytes = new TextEncoder().encode(JSON.stringify(node.publicJwk));

  Object.assign(attacks, {
    none: async () => undefined,
    malformed: async () => "not-a-jwt",
    expired: () => sharedToken({ expIn: -120 }),
    "not yet valid": () => sharedToken({ nbfIn: 120 }),
    "wrong audience": () => sharedToken({ aud: "wallcrawler-node" }),
    "wrong issuer": () => sharedToken({ iss: "someone-else" }),
    "another session's token": () => sharedToken({ sub: crypto.randomUUID() }),
    "another project's token": () => sharedToken({ pid: "project-2" }),
    "signed by another key": () => sharedToken({}, otherKey),
    "alg none": async () =>
      `${base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url.encode(JSON.stringify(claims))}.`,
    "HS256 signed with the public key": () =>
      new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "test-key" }).sign(publicKeyBytes),
    "tampered payload": async () => {
      const forged = { ...JSON.parse(Buffer.from(payload, "base64url").toString()), exp: now + 999_999 };
      return `${header}.${base64url.encode(JSON.stringify(forged))}.${valid.split(".")[2]}`;
    },
  });
});

/** A raw upgrade request: resolves with the status and whether the socket was upgraded. */
function tryUpgrade(port: number, token: string | undefined): Promise<{ status: number; upgraded: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path: token === undefined ? "/" : `/?signingKey=${encodeURIComponent(token)}`,
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, upgraded: true, body: "" });
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, upgraded: false, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("token attacks", () => {
  const names = [
    "none",
    "malformed",
    "expired",
    "not yet valid",
    "wrong audience",
    "wrong issuer",
    "another session's token",
    "another project's token",
    "signed by another key",
    "alg none",
    "HS256 signed with the public key",
    "tampered payload",
  ];

  it.each(names)("%s → 401 on the WebSocket upgrade, never upgraded", async (name) => {
    const result = await tryUpgrade(shared().port, await attacks[name]());
    expect(result.upgraded).toBe(false);
    expect(result.status).toBe(401);
    expect(result.body.length).toBeGreaterThan(0);
  });

  it.each(names)("%s → 401 on /json/version, /json/list and in headers", async (name) => {
    const token = await attacks[name]();
    const base = `http://127.0.0.1:${shared().port}`;
    const query = token === undefined ? "" : `?signingKey=${encodeURIComponent(token)}`;
    for (const path of ["/json/version", "/json/list/"]) {
      expect((await fetch(base + path + query)).status, path).toBe(401);
    }
    if (token !== undefined) {
      expect((await fetch(`${base}/json/version`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
      expect((await fetch(`${base}/json/list`, { headers: { "x-bb-signing-key": token } })).status).toBe(401);
    }
  });

  it("the same request with a valid token is upgraded (the attacks fail for their flaw alone)", async () => {
    const result = await tryUpgrade(shared().port, await sharedToken());
    expect(result).toMatchObject({ status: 101, upgraded: true });
  });

  it("the node's readiness header is refused with a guessed value", async () => {
    const res = await fetch(`http://127.0.0.1:${shared().port}/json/version`, { headers: { "x-wc-readiness": "0".repeat(64) } });
    expect(res.status).toBe(401);
  });

  it("says why without echoing the token", async () => {
    const expired = await attacks.expired();
    const res = await fetch(`http://127.0.0.1:${shared().port}/json/version?signingKey=${expired}`);
    const text = await res.text();
    expect(text).toMatch(/expired/);
    expect(text).not.toContain(expired!);
  });
});
