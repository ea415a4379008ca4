import { beforeAll, describe, expect, inject, it } from "vitest";
import { createLocalJWKSet, jwtVerify } from "jose";
import { CDP_TOKEN_AUDIENCE, TOKEN_ISSUER } from "../../edge/node-protocol.ts";
import { chromiumCalls, nextMessage, upgrade, type FakeNode } from "./fake-node.ts";
import { api, call, newProject, raw, startSession } from "./helpers.ts";

// The node plays itself in front of a real Chromium (fake-node.ts): it answers the edge's `json`
// and `frontend` calls from Chromium and splices every channel to Chromium's socket.
describe("debug URLs through the edge", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  let session: { id: string; expiresAt: string };
  let node: FakeNode;
  const port = inject("chromiumPort");
  beforeAll(async () => {
    project = await newProject({ name: "debug" });
    const started = await startSession(project.key, project.projectId, {}, undefined, { handler: chromiumCalls(port) });
    session = started.created.body;
    node = started.node.link;
  });

  it("names the browser's real targets, and DevTools opens on them through the edge", async () => {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { id: string; type: string; url: string }[];
    const pages = targets.filter((t) => t.type === "page");
    expect(pages.length).toBeGreaterThan(0);
    const debug = await api(project.key, "GET", `/v1/sessions/${session.id}/debug`);
    expect(debug.status).toBe(200);
    expect(Object.keys(debug.body).sort()).toEqual(["debuggerFullscreenUrl", "debuggerUrl", "pages", "wsUrl"]);
    expect(debug.body.pages.map((p: { id: string }) => p.id).sort()).toEqual(pages.map((p) => p.id).sort());
    const page = debug.body.pages[0];
    expect(Object.keys(page).sort()).toEqual(["debuggerFullscreenUrl", "debuggerUrl", "faviconUrl", "id", "title", "url"]);
    expect(debug.body.debuggerUrl).toBe(page.debuggerUrl);

    const base = `edge.test/cdp/${session.id}`;
    const token = /%3FsigningKey%3D([\w.-]+)$/.exec(page.debuggerUrl)![1];
    expect(page.debuggerUrl).toBe(`http://${base}/devtools/inspector.html?ws=${base}/devtools/page/${page.id}%3FsigningKey%3D${token}`);
    expect(debug.body.wsUrl).toBe(`ws://${base}?signingKey=${token}`);
    const jwks = createLocalJWKSet((await call("/.well-known/jwks.json")).body);
    expect((await jwtVerify(token, jwks, { issuer: TOKEN_ISSUER, audience: CDP_TOKEN_AUDIENCE })).payload.sub).toBe(session.id);
    const url = new URL(page.debuggerUrl);
    expect(url.searchParams.get("ws")).toBe(`${base}/devtools/page/${page.id}?signingKey=${token}`);

    // The frontend's files come through the edge, without a token, as Chromium serves them.
    const frontend = await raw(`${url.pathname}${url.search}`);
    expect(frontend.status).toBe(200);
    expect(frontend.headers.get("content-type")).toMatch(/text\/html/);
    const html = await frontend.text();
    expect(html).toContain("<html");
    const script = /src="([^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeTruthy();
    const sub = await raw(`/cdp/${session.id}/devtools/${script!.replace(/^\.\//, "")}`);
    expect(sub.status).toBe(200);
    expect((await sub.arrayBuffer()).byteLength).toBeGreaterThan(0);
    // The frontend page's own query (which holds the token) never goes to the node.
    expect(node.calls.filter((c) => c.op === "frontend")[0]).toEqual({ op: "frontend", path: "/devtools/inspector.html" });

    // The socket the frontend opens (`ws://` + the ws parameter, query included) reaches the page.
    const { ws } = await upgrade(url.searchParams.get("ws")!.slice("edge.test".length));
    const reply = nextMessage(ws!);
    ws!.send(JSON.stringify({ id: 1, method: "Runtime.evaluate", params: { expression: "6 * 7", returnByValue: true } }));
    expect(JSON.parse(String(await reply))).toMatchObject({ id: 1, result: { result: { value: 42 } } });
    ws!.close(1000);
  });

  it("answers /json/* with every URL pointing back to the edge with the caller's token, as Playwright's http form needs", async () => {
    const token = (await api(project.key, "GET", `/v1/sessions/${session.id}`)).body.signingKey as string;
    const base = `edge.test/cdp/${session.id}`;
    // connectOverCDP("http://<edge>/cdp/<id>?signingKey=T") fetches <path>/json/version/ keeping the query ...
    const version = await raw(`/cdp/${session.id}/json/version/?signingKey=${token}`);
    expect(version.status).toBe(200);
    const body = (await version.json()) as { Browser: string; webSocketDebuggerUrl: string };
    expect(body.Browser).toMatch(/Chrome/);
    const browserPath = /\/devtools\/browser\/[\w-]+/.exec(body.webSocketDebuggerUrl)![0];
    expect(body.webSocketDebuggerUrl).toBe(`ws://${base}${browserPath}?signingKey=${token}`);
    // ... and opens the webSocketDebuggerUrl verbatim.
    const { ws } = await upgrade(body.webSocketDebuggerUrl.slice("ws://edge.test".length));
    const reply = nextMessage(ws!);
    ws!.send(JSON.stringify({ id: 7, method: "Browser.getVersion" }));
    expect(JSON.parse(String(await reply))).toMatchObject({ id: 7, result: { product: body.Browser } });
    ws!.close(1000);

    for (const path of ["/json/list", "/json", "/json/list/"]) {
      const list = (await (await raw(`/cdp/${session.id}${path}`, { headers: { "x-bb-signing-key": token } })).json()) as Record<string, string>[];
      const page = list.find((t) => t.type === "page")!;
      expect(page.webSocketDebuggerUrl).toBe(`ws://${base}/devtools/page/${page.id}?signingKey=${token}`);
      expect(page.devtoolsFrontendUrl).toBe(`http://${base}/devtools/inspector.html?ws=${base}/devtools/page/${page.id}%3FsigningKey%3D${token}`);
    }
    const protocol = (await (await raw(`/cdp/${session.id}/json/protocol`, { headers: { authorization: `Bearer ${token}` } })).json()) as { domains: unknown[] };
    expect(protocol.domains.length).toBeGreaterThan(10);
  });

  it("limits the URLs' token to expiresIn", async () => {
    const debug = await api(project.key, "GET", `/v1/sessions/${session.id}/debug?expiresIn=120`);
    const token = new URL(debug.body.wsUrl.replace(/^ws/, "http")).searchParams.get("signingKey")!;
    const { payload } = await jwtVerify(token, createLocalJWKSet((await call("/.well-known/jwks.json")).body));
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(121);
    expect((await api(project.key, "GET", `/v1/sessions/${session.id}/debug?expiresIn=0`)).body.message).toMatch(/^expiresIn: /);
  });

  it("answers 409 for a session that is not running, and 502 when the node cannot list its targets", async () => {
    const failing = { handler: async () => ({ ok: false as const, status: 500, message: "browser gone" }) };
    const gone = (await startSession(project.key, project.projectId, {}, undefined, failing)).created.body;
    const unanswered = await api(project.key, "GET", `/v1/sessions/${gone.id}/debug`);
    expect(unanswered).toMatchObject({ status: 502, body: { message: "The session's browser node did not answer" } });
    const json = await raw(`/cdp/${gone.id}/json/list?signingKey=${(gone as unknown as { signingKey: string }).signingKey}`);
    expect([json.status, await json.json()]).toEqual([502, { message: "browser gone" }]);
    await api(project.key, "POST", `/v1/sessions/${gone.id}`, { status: "REQUEST_RELEASE" });
    const over = await api(project.key, "GET", `/v1/sessions/${gone.id}/debug`);
    expect(over).toMatchObject({ status: 409, body: { message: `Session ${gone.id} is not running (status COMPLETED)` } });
    expect(over.headers.get("x-should-retry")).toBe("false");
    expect((await raw(`/cdp/${gone.id}/devtools/inspector.html`)).status).toBe(409);
  });
});
