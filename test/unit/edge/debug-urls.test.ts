/** The live-view URLs of `GET /v1/sessions/{id}/debug` (edge/sessions/debug-urls.ts), built from a target list. */
import { describe, expect, it } from "vitest";
import { liveUrls, targetsOf, type CdpTarget } from "../../../edge/sessions/debug-urls.ts";
import { directEndpoint, edgeEndpoint } from "../../../edge/sessions/connect-urls.ts";

// A task's address as text only: these functions format URLs and open no connection.
const node = { host: "10.0.0.7", port: 9223 };
const direct = (scheme: "ws" | "wss" = "ws", at = node) => directEndpoint(at, scheme);
const session = "5f0c6a8e-8d0b-4c57-9a5e-2f1a3b4c5d6e";
const token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzIn0.c2ln-_w";
/** Stands in for live-urls.ts: the live view of a page, or of the newest. */
const liveView = (page?: string) => `https://edge.example.com/live/${session}?token=L${page ? `&page=${page}` : ""}`;
const page = (id: string, fields: Partial<CdpTarget> = {}): CdpTarget => ({ id, type: "page", url: `https://example.com/${id}`, title: id, ...fields });

/** What the DevTools frontend does with a debugger URL: the page socket it opens. */
function frontendSocket(debuggerUrl: string): URL {
  const url = new URL(debuggerUrl);
  const [param, value] = [...url.searchParams][0]!;
  return new URL(`${param}://${value}`);
}

describe("liveUrls", () => {
  it("points the frontend at the page's socket under the edge's /cdp/<session>, with the token in that socket's query (edge mode)", () => {
    const urls = liveUrls(edgeEndpoint("https://edge.example.com", session), token, [page("A1B2")], liveView);
    const inspector = new URL(urls.pages[0]!.debuggerUrl);
    expect(`${inspector.origin}${inspector.pathname}`).toBe(`https://edge.example.com/cdp/${session}/devtools/inspector.html`);
    const socket = frontendSocket(urls.pages[0]!.debuggerUrl);
    expect(`${socket.protocol}//${socket.host}${socket.pathname}`).toBe(`wss://edge.example.com/cdp/${session}/devtools/page/A1B2`);
    expect(socket.searchParams.get("signingKey")).toBe(token);
    expect(urls.wsUrl).toBe(`wss://edge.example.com/cdp/${session}?signingKey=${token}`);
    // A local edge on plain http gets plain ws, its port kept.
    expect(liveUrls(edgeEndpoint("http://127.0.0.1:8787", session), token, [], liveView).wsUrl).toBe(`ws://127.0.0.1:8787/cdp/${session}?signingKey=${token}`);
  });

  it("points the frontend at the page's own socket on the node, with the token in that socket's query", () => {
    const urls = liveUrls(direct(), token, [page("A1B2")], liveView);
    const inspector = new URL(urls.pages[0]!.debuggerUrl);
    expect(`${inspector.origin}${inspector.pathname}`).toBe("http://10.0.0.7:9223/devtools/inspector.html");
    const socket = frontendSocket(urls.pages[0]!.debuggerUrl);
    expect(`${socket.protocol}//${socket.host}${socket.pathname}`).toBe("ws://10.0.0.7:9223/devtools/page/A1B2");
    expect(socket.searchParams.get("signingKey")).toBe(token);
    expect(new URL(urls.wsUrl).searchParams.get("signingKey")).toBe(token);
  });

  it("uses https and wss throughout when nodes are reached over TLS (direct mode)", () => {
    const urls = liveUrls(direct("wss"), token, [page("P")], liveView);
    expect(urls.debuggerUrl.startsWith("https://10.0.0.7:9223/")).toBe(true);
    expect(frontendSocket(urls.debuggerUrl).protocol).toBe("wss:");
    expect(urls.wsUrl.startsWith("wss://10.0.0.7:9223?")).toBe(true);
  });

  it("brackets an IPv6 node in every URL", () => {
    const urls = liveUrls(direct("ws", { ...node, host: "fd00::7" }), token, [page("P")], liveView);
    expect(new URL(urls.debuggerUrl).host).toBe("[fd00::7]:9223");
    expect(frontendSocket(urls.debuggerUrl).host).toBe("[fd00::7]:9223");
    expect(new URL(urls.wsUrl).host).toBe("[fd00::7]:9223");
  });

  it("lists pages only, in the node's order, and the session's URLs open the first", () => {
    const targets: CdpTarget[] = [
      { id: "SW", type: "service_worker", url: "https://example.com/sw.js", title: "sw" },
      page("P1"),
      { id: "BG", type: "background_page", url: "chrome-extension://x/bg.html", title: "bg" },
      page("P2"),
    ];
    const urls = liveUrls(direct(), token, targets, liveView);
    expect(urls.pages.map((p) => p.id)).toEqual(["P1", "P2"]);
    expect(urls.debuggerUrl).toBe(urls.pages[0]!.debuggerUrl);
    // The live view: per page it watches that page first; the session's follows the newest.
    expect(urls.pages.map((p) => p.debuggerFullscreenUrl)).toEqual([liveView("P1"), liveView("P2")]);
    expect(urls.debuggerFullscreenUrl).toBe(liveView());
  });

  it("gives the bare frontend, without a socket, when the browser has no page", () => {
    const urls = liveUrls(direct(), token, [{ id: "SW", type: "service_worker", url: "", title: "" }], liveView);
    expect(urls.pages).toEqual([]);
    expect(urls.debuggerUrl).toBe("http://10.0.0.7:9223/devtools/inspector.html");
    expect(urls.wsUrl).toBe(`ws://10.0.0.7:9223?signingKey=${token}`);
  });

  it("fills the SDK's required strings when a target leaves them out", () => {
    const bare = { id: "P", type: "page" } as CdpTarget;
    expect(liveUrls(direct(), token, [bare], liveView).pages[0]).toMatchObject({ url: "", title: "", faviconUrl: "" });
    expect(liveUrls(direct(), token, [page("P", { faviconUrl: "https://example.com/f.ico" })], liveView).pages[0]!.faviconUrl).toBe("https://example.com/f.ico");
  });
});

describe("targetsOf", () => {
  it("keeps the entries of a /json/list answer that look like targets and drops everything else", () => {
    const list = [page("P1"), null, "x", { id: 7, type: "page" }, { id: "NoType" }, { id: "SW", type: "service_worker", url: "", title: "" }];
    expect(targetsOf(list).map((t) => t.id)).toEqual(["P1", "SW"]);
    expect(targetsOf({ id: "P", type: "page" })).toEqual([]);
    expect(targetsOf(undefined)).toEqual([]);
  });
});
