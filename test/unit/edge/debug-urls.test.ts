/** The live-view URLs of `GET /v1/sessions/{id}/debug` (edge/sessions/debug-urls.ts), built from a target list. */
import { describe, expect, it } from "vitest";
import { liveUrls, type CdpTarget } from "../../../edge/sessions/debug-urls.ts";

const node = { host: "10.0.0.7", port: 9223, browserVersion: "Chrome/156" };
const token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzIn0.c2ln-_w";
const page = (id: string, fields: Partial<CdpTarget> = {}): CdpTarget => ({ id, type: "page", url: `https://example.com/${id}`, title: id, ...fields });

/** What the DevTools frontend does with a debugger URL: the page socket it opens. */
function frontendSocket(debuggerUrl: string): URL {
  const url = new URL(debuggerUrl);
  const [param, value] = [...url.searchParams][0]!;
  return new URL(`${param}://${value}`);
}

describe("liveUrls", () => {
  it("points the frontend at the page's own socket on the node, with the token in that socket's query", () => {
    const urls = liveUrls(node, "ws", token, [page("A1B2")]);
    const inspector = new URL(urls.pages[0]!.debuggerUrl);
    expect(`${inspector.origin}${inspector.pathname}`).toBe("http://10.0.0.7:9223/devtools/inspector.html");
    const socket = frontendSocket(urls.pages[0]!.debuggerUrl);
    expect(`${socket.protocol}//${socket.host}${socket.pathname}`).toBe("ws://10.0.0.7:9223/devtools/page/A1B2");
    expect(socket.searchParams.get("signingKey")).toBe(token);
    expect(new URL(urls.wsUrl).searchParams.get("signingKey")).toBe(token);
  });

  it("uses https and wss throughout when nodes are reached over TLS", () => {
    const urls = liveUrls(node, "wss", token, [page("P")]);
    expect(urls.debuggerUrl.startsWith("https://10.0.0.7:9223/")).toBe(true);
    expect(frontendSocket(urls.debuggerUrl).protocol).toBe("wss:");
    expect(urls.wsUrl.startsWith("wss://10.0.0.7:9223?")).toBe(true);
  });

  it("brackets an IPv6 node in every URL", () => {
    const urls = liveUrls({ ...node, host: "fd00::7" }, "ws", token, [page("P")]);
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
    const urls = liveUrls(node, "ws", token, targets);
    expect(urls.pages.map((p) => p.id)).toEqual(["P1", "P2"]);
    expect(urls.debuggerUrl).toBe(urls.pages[0]!.debuggerUrl);
    expect(urls.debuggerFullscreenUrl).toBe(urls.pages[0]!.debuggerFullscreenUrl);
  });

  it("gives the bare frontend, without a socket, when the browser has no page", () => {
    const urls = liveUrls(node, "ws", token, [{ id: "SW", type: "service_worker", url: "", title: "" }]);
    expect(urls.pages).toEqual([]);
    expect(urls.debuggerUrl).toBe("http://10.0.0.7:9223/devtools/inspector.html");
    expect(urls.wsUrl).toBe(`ws://10.0.0.7:9223?signingKey=${token}`);
  });

  it("fills the SDK's required strings when a target leaves them out", () => {
    const bare = { id: "P", type: "page" } as CdpTarget;
    expect(liveUrls(node, "ws", token, [bare]).pages[0]).toMatchObject({ url: "", title: "", faviconUrl: "" });
    expect(liveUrls(node, "ws", token, [page("P", { faviconUrl: "https://example.com/f.ico" })]).pages[0]!.faviconUrl).toBe("https://example.com/f.ico");
  });
});
