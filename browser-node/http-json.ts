/**
 * JSON over node:http(s). The node avoids global fetch: loading undici costs about 10 MB of RSS,
 * a sixth of the node's whole memory budget beside Chromium.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface JsonResponse {
  status: number;
  body: unknown;
}

export function requestJson(
  url: URL,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
    /** A body already serialized as JSON (large batches are built from pieces serialized once). */
    json?: string;
    timeoutMs: number;
  },
): Promise<JsonResponse> {
  const payload = options.json ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (payload === undefined ? "GET" : "POST"),
        headers: {
          ...options.headers,
          ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
        },
        timeout: options.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined; // a non-JSON answer: the status still tells
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url.host} within ${options.timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}
