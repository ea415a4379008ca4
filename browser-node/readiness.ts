/**
 * The node is ready only when a CDP round trip works through its own proxy: `/json/version` over
 * HTTP and `Browser.getVersion` over a browser-level WebSocket, both via the proxy port.
 */
import WebSocket from "ws";
import { requestJson } from "./http-json.ts";
import { READINESS_HEADER } from "./proxy/authenticate.ts";

async function roundTrip(port: number, secret: string): Promise<void> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { [READINESS_HEADER]: secret }, perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once("unexpected-response", (_req, res) => reject(new Error(`proxy answered ${res.statusCode}`)));
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

/**
 * Returns Chromium's version string (e.g. "Chrome/156.0.8078.108") once the proxy path works,
 * trying again until `deadline` (epoch ms); the last failure is thrown.
 */
export async function probeThroughProxy(port: number, secret: string, deadline: number): Promise<string> {
  for (;;) {
    try {
      return await probeOnce(port, secret);
    } catch (err) {
      if (Date.now() + 250 >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Both paths clients take, at once: each waits for Chromium to finish starting, neither for the other. */
async function probeOnce(port: number, secret: string): Promise<string> {
  const [res] = await Promise.all([
    requestJson(new URL(`http://127.0.0.1:${port}/json/version`), { headers: { [READINESS_HEADER]: secret }, timeoutMs: 5000 }),
    roundTrip(port, secret),
  ]);
  if (res.status !== 200) throw new Error(`/json/version through the proxy answered ${res.status}`);
  const version = res.body as { Browser?: string } | undefined;
  if (!version?.Browser) throw new Error("/json/version has no Browser");
  return version.Browser;
}
