/**
 * The live view at the edge (edge/routes/live.ts): its page and socket open with a live token of
 * this session only (401 JSON otherwise, before anything is served or upgraded, and a CDP token is
 * not one); only the page may be framed by another origin; a viewer's socket becomes an `open` of
 * the node's live channel, read-only when the token or the query says so. A fake node (fake-node.ts).
 */
import { importJWK, SignJWT, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { CDP_TOKEN_AUDIENCE, LIVE_CHANNEL_PATH, LIVE_TOKEN_AUDIENCE, TOKEN_ISSUER, type NodeCall } from "../../edge/node-protocol.ts";
import { upgrade, type FakeNode } from "./fake-node.ts";
import { api, env, newProject, raw, startSession } from "./helpers.ts";

const now = () => Math.floor(Date.now() / 1000);

async function sign(claims: Record<string, unknown>): Promise<string> {
  const jwk = JSON.parse(env.SIGNING_KEY!) as JWK;
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: jwk.kid!, typ: "JWT" }).sign(await importJWK({ ...jwk, alg: "ES256" }, "ES256"));
}

describe("the live view at the edge", () => {
  let sessionId: string;
  let projectId: string;
  let key: string;
  let node: FakeNode;
  const live = (c: Record<string, unknown> = {}) => sign({ iss: TOKEN_ISSUER, aud: LIVE_TOKEN_AUDIENCE, sub: sessionId, pid: projectId, iat: now(), exp: now() + 600, ...c });
  const opens = () => node.calls.filter((c): c is Extract<NodeCall, { op: "open" }> => c.op === "open");

  beforeAll(async () => {
    const p = await newProject({ name: "live view" });
    const started = await startSession(p.key, p.projectId);
    ({ sessionId } = started.node);
    ({ projectId, key } = p);
    node = started.node.link;
  });

  it("debug hands out the live view with a token of its own, read-only on request", async () => {
    const debug = await api(key, "GET", `/v1/sessions/${sessionId}/debug`);
    const url = new URL(debug.body.debuggerFullscreenUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`http://edge.test/live/${sessionId}`);
    expect(new URL(debug.body.pages[0].debuggerFullscreenUrl).searchParams.get("page")).toBe(debug.body.pages[0].id);
    expect(debug.body.debuggerUrl).toContain("/devtools/inspector.html"); // DevTools stays
    const claims = (token: string) => JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims(url.searchParams.get("token")!)).toMatchObject({ aud: LIVE_TOKEN_AUDIENCE, sub: sessionId, pid: projectId });
    expect(claims(url.searchParams.get("token")!).ro).toBeUndefined();
    const watchOnly = await api(key, "GET", `/v1/sessions/${sessionId}/debug?readOnly=true&expiresIn=60`);
    const ro = claims(new URL(watchOnly.body.debuggerFullscreenUrl).searchParams.get("token")!);
    expect(ro.ro).toBe(true);
    expect(ro.exp).toBeLessThanOrEqual(now() + 61);
  });

  it("serves the page framable by any origin, with a strict CSP and no referrer", async () => {
    const res = await raw(`/live/${sessionId}?token=${await live()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("x-frame-options")).toBeNull();
    const csp = res.headers.get("content-security-policy")!;
    expect(csp.split("; ")).toEqual(expect.arrayContaining(["frame-ancestors *", "default-src 'none'", "script-src 'self'", "connect-src ws://edge.test"]));
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain(`<meta name="wc-live-socket" content="ws://edge.test/live/${sessionId}/socket">`);
    expect(html).not.toContain("token"); // the page holds no credential of its own
    const script = await raw("/live/view.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    // Nothing else is loosened: the API and the CDP routes are not framable-by-policy.
    expect((await raw(`/cdp/${sessionId}/json/version`)).headers.get("content-security-policy")).toBeNull();
  });

  it("refuses every token but this session's live token, before serving or upgrading, with 401 JSON", async () => {
    const calls = node.calls.length;
    const cases: [string, string | undefined, string][] = [
      ["none", undefined, "missing live token"],
      ["a CDP token", await sign({ iss: TOKEN_ISSUER, aud: CDP_TOKEN_AUDIENCE, sub: sessionId, pid: projectId, iat: now(), exp: now() + 600 }), "live token aud claim rejected"],
      ["expired", await live({ exp: now() - 60 }), "live token expired"],
      ["another session's", await live({ sub: crypto.randomUUID() }), "live token is for another session"],
      ["a malformed read-only claim", await live({ ro: "yes" }), "live token has malformed claims"],
    ];
    for (const [, token, reason] of cases) {
      const query = token === undefined ? "" : `?token=${token}`;
      const page = await raw(`/live/${sessionId}${query}`);
      expect(page.status).toBe(401);
      expect(await page.json()).toEqual({ message: reason });
      const { res, ws } = await upgrade(`/live/${sessionId}/socket${query}`);
      expect(res.status).toBe(401);
      expect(ws).toBeFalsy();
    }
    expect(node.calls.length).toBe(calls); // the node was never asked
  });

  it("opens a live channel for a viewer, read-only by the token or the query, whatever headers the client sent", async () => {
    const cases: [string, Record<string, string>, boolean][] = [
      [`?token=${await live()}&page=PAGE1`, { "x-wc-client-read-only": "1" }, false],
      [`?token=${await live()}&readOnly=true`, {}, true],
      [`?token=${await live({ ro: true })}`, { "x-wc-client-read-only": "0" }, true],
    ];
    for (const [query, headers, readOnly] of cases) {
      const before = opens().length;
      const { res, ws } = await upgrade(`/live/${sessionId}/socket${query}`, headers);
      expect(res.status).toBe(101);
      const open = opens()[before];
      expect(open).toMatchObject({ path: LIVE_CHANNEL_PATH, readOnly });
      if (query.includes("page=")) expect(open.page).toBe("PAGE1");
      ws!.close();
    }
  });
});
