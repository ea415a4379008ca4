import { beforeAll, describe, expect, inject, it } from "vitest";
import { createLocalJWKSet, jwtVerify } from "jose";
import { CDP_TOKEN_AUDIENCE, TOKEN_ISSUER } from "../../edge/node-protocol.ts";
import { api, call, newProject, startSession } from "./helpers.ts";

// The "node" here is a real Chromium's debugging endpoint: the edge reads its live target list
// (the node's proxy serves the same /json/list, token in the query) and builds DevTools URLs.
describe("debug URLs", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  let session: { id: string; expiresAt: string };
  const port = inject("chromiumPort");
  beforeAll(async () => {
    project = await newProject({ name: "debug" });
    session = (await startSession(project.key, project.projectId, {}, undefined, port)).created.body;
  });

  it("names the browser's real targets and opens DevTools on them through the node", async () => {
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

    const url = new URL(page.debuggerFullscreenUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`http://127.0.0.1:${port}/devtools/inspector.html`);
    const token = /%3FsigningKey%3D([\w.-]+)$/.exec(page.debuggerFullscreenUrl)![1];
    expect(page.debuggerFullscreenUrl).toBe(`http://127.0.0.1:${port}/devtools/inspector.html?ws=127.0.0.1:${port}/devtools/page/${page.id}%3FsigningKey%3D${token}`);
    const jwks = createLocalJWKSet((await call("/.well-known/jwks.json")).body);
    expect((await jwtVerify(token, jwks, { issuer: TOKEN_ISSUER, audience: CDP_TOKEN_AUDIENCE })).payload.sub).toBe(session.id);
    expect(url.searchParams.get("ws")).toBe(`127.0.0.1:${port}/devtools/page/${page.id}?signingKey=${token}`);

    // The frontend page loads, and the WebSocket it would open reaches that page target (the
    // node's proxy takes the token off the query before it forwards; Chromium gets the bare path).
    const frontend = await fetch(page.debuggerFullscreenUrl);
    expect(frontend.status).toBe(200);
    expect(await frontend.text()).toContain("<html");
    const upstream = new URL(`http://${url.searchParams.get("ws")}`);
    upstream.search = "";
    const upgrade = await fetch(upstream, { headers: { Upgrade: "websocket" } });
    expect(upgrade.status).toBe(101);
    const ws = upgrade.webSocket!;
    ws.accept();
    const reply = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(String(e.data))));
    ws.send(JSON.stringify({ id: 1, method: "Runtime.evaluate", params: { expression: "6 * 7", returnByValue: true } }));
    expect(JSON.parse(await reply)).toMatchObject({ id: 1, result: { result: { value: 42 } } });
    ws.close();
  });

  it("limits the URLs' token to expiresIn", async () => {
    const debug = await api(project.key, "GET", `/v1/sessions/${session.id}/debug?expiresIn=120`);
    const token = new URL(debug.body.wsUrl.replace(/^ws/, "http")).searchParams.get("signingKey")!;
    const { payload } = await jwtVerify(token, createLocalJWKSet((await call("/.well-known/jwks.json")).body));
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(121);
    expect((await api(project.key, "GET", `/v1/sessions/${session.id}/debug?expiresIn=0`)).body.message).toMatch(/^expiresIn: /);
  });

  it("answers 409 for a session that is not running, and 502 when the node is unreachable", async () => {
    const gone = (await startSession(project.key, project.projectId, {}, undefined, 1)).created.body;
    const unreachable = await api(project.key, "GET", `/v1/sessions/${gone.id}/debug`);
    expect(unreachable.status).toBe(502);
    await api(project.key, "POST", `/v1/sessions/${gone.id}`, { status: "REQUEST_RELEASE" });
    const over = await api(project.key, "GET", `/v1/sessions/${gone.id}/debug`);
    expect(over).toMatchObject({ status: 409, body: { message: `Session ${gone.id} is not running (status COMPLETED)` } });
    expect(over.headers.get("x-should-retry")).toBe("false");
  });
});
