/**
 * HTTP to a browser node over a raw TCP socket. On Cloudflare, a Worker's fetch() refuses bare IP
 * addresses and ignores non-standard ports, and a node is exactly that: <task IP>:9223.
 * `connect()` reaches any address and port, so the edge speaks the little HTTP/1.1 it needs
 * itself: one request (a body, when there is one, goes chunked: an upload's length is known only
 * at its end), and an answer read until its Content-Length, its last chunk, or EOF (Chromium
 * keeps the connection open whatever `Connection: close` says).
 */
import { connect } from "cloudflare:sockets";
import { ApiError } from "../errors.ts";
import { hostPort, type NodeAddress } from "./session-record.ts";

export interface NodeAnswer {
  status: number;
  body: string;
}

export interface NodeRequest {
  method: "GET" | "POST" | "PUT";
  path: string;
  headers?: Record<string, string>;
  /** Sent with `Transfer-Encoding: chunked`; an error it throws aborts the request and is rethrown. */
  body?: AsyncIterable<Uint8Array>;
}

/** The answer's body as JSON, or undefined when it is not JSON. */
export function answerJson(answer: NodeAnswer): unknown {
  try {
    return JSON.parse(answer.body);
  } catch {
    return undefined;
  }
}

export const getFromNode = (node: Pick<NodeAddress, "host" | "port">, path: string, options: { tls: boolean; timeoutMs: number }) =>
  requestNode(node, { method: "GET", path, headers: { Accept: "application/json" } }, options);

export async function requestNode(
  node: Pick<NodeAddress, "host" | "port">,
  request: NodeRequest,
  options: { tls: boolean; timeoutMs: number },
): Promise<NodeAnswer> {
  const socket = connect({ hostname: node.host, port: node.port }, { secureTransport: options.tls ? "on" : "off", allowHalfOpen: false });
  // A write to a peer that stopped reading may never settle (workerd), so every wait races
  // `stopped`: the deadline, the connection's end, or the node's answer arriving early.
  let stop!: (reason: Error) => void;
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  stopped.catch(() => {});
  const timer = setTimeout(() => stop(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
  socket.closed.then(
    () => stop(new Error("connection closed")),
    (error: unknown) => stop(error instanceof Error ? error : new Error(String(error))),
  );
  const answer = readResponse(socket.readable);
  answer.then(
    () => stop(new Error("answered")),
    (error: unknown) => stop(error instanceof Error ? error : new Error(String(error))),
  );
  const encoder = new TextEncoder();
  const writer = socket.writable.getWriter();
  const write = (bytes: Uint8Array) => Promise.race([writer.write(bytes), stopped]);
  try {
    const head = Object.entries({ Host: hostPort(node), Connection: "close", ...request.headers });
    if (request.body) head.push(["Transfer-Encoding", "chunked"]);
    else if (request.method !== "GET") head.push(["Content-Length", "0"]);
    try {
      await write(encoder.encode(`${request.method} ${request.path} HTTP/1.1\r\n${head.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`));
      if (request.body) {
        for await (const chunk of request.body) {
          await write(encoder.encode(`${chunk.length.toString(16)}\r\n`));
          await write(chunk);
          await write(encoder.encode("\r\n"));
        }
        await write(encoder.encode("0\r\n\r\n"));
      }
    } catch (error) {
      // The client's own upload failing (cut off, over its bound) is the client's answer; a node
      // that answered before it read the body (a bad token, over its bound) gave its reason.
      if (error instanceof ApiError) throw error;
      const early = await Promise.race([answer, new Promise<undefined>((resolve) => setTimeout(resolve, 1000, undefined))]).catch(() => undefined);
      if (early) return early;
      throw error;
    }
    return await Promise.race([answer, stopped.catch((reason: Error) => (reason.message === "answered" ? answer : Promise.reject(reason)))]);
  } finally {
    clearTimeout(timer);
    // Not awaited: closing waits for a write the peer never took.
    socket.close().catch(() => {});
  }
}

async function readResponse(stream: ReadableStream<Uint8Array>): Promise<NodeAnswer> {
  let bytes = new Uint8Array(0);
  for await (const part of stream) {
    const joined = new Uint8Array(bytes.length + part.length);
    joined.set(bytes);
    joined.set(part, bytes.length);
    bytes = joined;
    const answer = complete(bytes);
    if (answer) return answer;
  }
  return complete(bytes, true) ?? Promise.reject(new Error("incomplete HTTP response"));
}

/** The answer, once `bytes` hold all of it (at EOF, whatever arrived). */
function complete(bytes: Uint8Array, eof = false): NodeAnswer | undefined {
  const end = indexOfCrlf(bytes, 0, true);
  if (end < 0) return undefined;
  const [statusLine, ...headerLines] = new TextDecoder().decode(bytes.subarray(0, end)).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!status) throw new Error("not an HTTP response");
  const header = (name: string) =>
    headerLines.find((line) => line.slice(0, line.indexOf(":")).trim().toLowerCase() === name)?.replace(/^[^:]*:/, "").trim();
  const body = bytes.subarray(end + 4);
  const decode = (b: Uint8Array) => ({ status, body: new TextDecoder().decode(b) });
  if (/chunked/i.test(header("transfer-encoding") ?? "")) {
    const chunks = dechunk(body);
    return chunks || eof ? decode(chunks ?? new Uint8Array(0)) : undefined;
  }
  const length = header("content-length");
  if (length !== undefined) return body.length >= Number(length) ? decode(body.subarray(0, Number(length))) : undefined;
  return eof ? decode(body) : undefined;
}

/** Index of the next CRLF (or, with `blank`, CRLFCRLF) at or after `from`; -1 if none. */
function indexOfCrlf(bytes: Uint8Array, from: number, blank = false): number {
  for (let i = from; i + 1 < bytes.length; i++) {
    if (bytes[i] !== 13 || bytes[i + 1] !== 10) continue;
    if (!blank || (bytes[i + 2] === 13 && bytes[i + 3] === 10)) return i;
  }
  return -1;
}

/** The body of a chunked answer once its last chunk arrived. Sizes count bytes: cut before decoding. */
function dechunk(body: Uint8Array): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = indexOfCrlf(body, at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(new TextDecoder().decode(body.subarray(at, lineEnd)), 16);
    if (!size) break;
    if (lineEnd + 2 + size > body.length) return undefined;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((offset, p) => (out.set(p, offset), offset + p.length), 0);
  return out;
}
