/** The CDP workloads the cdp-proxy and cdp-edge benchmarks time, the same on every path. */
import type { CdpClient } from "./cdp-proxy/cdp-client.ts";

/** `n` sequential `Runtime.evaluate` round trips, each one's milliseconds pushed onto `into`. */
export async function sequential(client: CdpClient, n: number, into: number[]) {
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await client.send("Runtime.evaluate", { expression: "1+1", returnByValue: true });
    into.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}

/** Messages per second with `inFlight` calls always outstanding. */
export async function pipelined(client: CdpClient, total: number, inFlight: number): Promise<number> {
  let sent = 0;
  const t = process.hrtime.bigint();
  const lane = async () => {
    while (sent < total) {
      sent++;
      await client.send("Runtime.evaluate", { expression: "1+1", returnByValue: true });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return total / (Number(process.hrtime.bigint() - t) / 1e9);
}

/** One PNG screenshot of the viewport, its milliseconds pushed onto `into`. */
export async function screenshot(client: CdpClient, into: number[]) {
  const t = process.hrtime.bigint();
  await client.send("Page.captureScreenshot", { format: "png" });
  into.push(Number(process.hrtime.bigint() - t) / 1e6);
}

/** A page heavy enough that a full-HD PNG is a few MB, as real screenshots are. */
export const HEAVY_PAGE = `<!doctype html><body style="margin:0">${Array.from(
  { length: 300 },
  (_, i) => `<div style="display:inline-block;width:96px;height:54px;background:linear-gradient(${i}deg,hsl(${i},80%,50%),hsl(${(i * 7) % 360},60%,40%))">${i}</div>`,
).join("")}</body>`;

/** Full HD, as the screenshot rows promise, on the page target `client` is attached to. */
export const FULL_HD = { width: 1920, height: 1080, deviceScaleFactor: 1, mobile: false };
