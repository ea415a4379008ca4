/**
 * The node is ready only when a CDP round trip works the way clients will come: `/json/version`
 * over HTTP and `Browser.getVersion` over a browser-level WebSocket, both at once. In direct mode
 * both go through the node's own proxy; in edge mode (no proxy) straight to Chromium, which is
 * what the node's channels connect to.
 */
import WebSocket from "ws";
import { retrying } from "../edge/retries.ts";
import { requestJson } from "./http-json.ts";
import { READINESS_HEADER } from "./proxy/authenticate.ts";
import type { SideCdp } from "./artifacts/side-cdp.ts";

async function roundTrip(url: string, headers: Record<string, string>): Promise<void> {
  const socket = new WebSocket(url, { headers, perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once("unexpected-response", (_req, res) => reject(new Error(`${url.split("/")[2]} answered ${res.statusCode}`)));
      socket.once("open", () => socket.send(JSON.stringify({ id: 1, method: "Browser.getVersion" })));
      socket.on("message", (data) => {
        const message = JSON.parse(String(data)) as { id?: number; result?: { product?: string } };
        if (message.id === 1 && message.result?.product) resolve();
        else if (message.id === 1) reject(new Error("Browser.getVersion failed"));
      });
    });
  } finally {
    socket.close();
  }
}

/** Tries `once` every 250 ms until it works, or throws its last failure at `deadline` (epoch ms). */
const untilReady = (once: () => Promise<string>, deadline: number) =>
  retrying({ until: deadline, firstDelayMs: 250, maxDelayMs: 250 }, once, () => true);

/** `/json/version`'s Browser (e.g. "Chrome/156.0.8078.108"), or why there is none. */
async function jsonVersion(httpBase: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await requestJson(new URL(`${httpBase}/json/version`), { headers, timeoutMs: 5000 });
  if (res.status !== 200) throw new Error(`/json/version answered ${res.status}`);
  const version = res.body as { Browser?: string } | undefined;
  if (!version?.Browser) throw new Error("/json/version has no Browser");
  return version.Browser;
}

/** Both paths at once: each waits for Chromium to finish starting, neither for the other. */
async function probeOnce(httpBase: string, wsUrl: string, headers: Record<string, string>): Promise<string> {
  const [browser] = await Promise.all([jsonVersion(httpBase, headers), roundTrip(wsUrl, headers)]);
  return browser;
}

/** Direct mode: Chromium's version string (e.g. "Chrome/156.0.8078.108") once the proxy path works. */
export function probeThroughProxy(port: number, secret: string, deadline: number): Promise<string> {
  const base = `127.0.0.1:${port}`;
  return untilReady(() => probeOnce(`http://${base}`, `ws://${base}/`, { [READINESS_HEADER]: secret }), deadline);
}

/** Edge mode: the same, straight to Chromium's debugging port. */
export function probeChromium(browser: { debugPort: number; browserPath: string }, deadline: number): Promise<string> {
  const base = `127.0.0.1:${browser.debugPort}`;
  return untilReady(() => probeOnce(`http://${base}`, `ws://${base}${browser.browserPath}`, {}), deadline);
}

/** A warm member's HTTP path, checked once while it settles: its assignment need not ask again. */
export const checkJsonVersion = (debugPort: number) => jsonVersion(`http://127.0.0.1:${debugPort}`);

/**
 * A warm browser settled already (chromium/settle.ts), its `/json/version` checked then
 * (checkJsonVersion): at its assignment one `Browser.getVersion` on the connection it still holds
 * proves it alive, with no new WebSocket or HTTP request (measured: the assignment's probe took
 * 18 ms opening a WebSocket, beside the artifacts' own, and 2–5 ms with an HTTP request).
 */
export async function probeWarm(cdp: Pick<SideCdp, "send">): Promise<string> {
  const { product } = await cdp.send<{ product: string }>("Browser.getVersion");
  return product;
}
