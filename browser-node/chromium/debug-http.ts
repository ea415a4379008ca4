/**
 * Plain HTTP GETs to Chromium's debugging port on loopback (`/json/*`, the DevTools frontend's
 * files), for the proxy and for the link's calls alike. Chromium answers only requests whose Host
 * is an IP or localhost, so the Host is always `127.0.0.1:<port>`.
 */
import { request, type IncomingMessage } from "node:http";
import { NodeError } from "../node-error.ts";

const ANSWER_TIMEOUT_MS = 10_000;

export function getFromChromium(debugPort: number, path: string, method = "GET"): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port: debugPort,
      path,
      method,
      agent: false,
      headers: { Host: `127.0.0.1:${debugPort}` },
      timeout: ANSWER_TIMEOUT_MS,
    });
    req.on("response", resolve);
    req.on("timeout", () => req.destroy(new Error(`Chromium did not answer ${path} within ${ANSWER_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** The whole body, refused (502) past `maxBytes`. */
export async function readBody(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of res) {
    bytes += (chunk as Buffer).length;
    if (bytes > maxBytes) {
      res.destroy();
      throw new NodeError("error", `Chromium's answer is larger than ${maxBytes} bytes`, { status: 502 });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
