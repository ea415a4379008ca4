/**
 * The node's own connection to Chromium's debugging port, with the WebSocket handshake done on
 * the client's behalf.
 *
 * Reads land in one buffer per connection (net's `onread`) instead of a fresh 64 KiB allocation
 * per read: Chromium's 3 MB screenshot frames then make no garbage, which keeps the node's memory
 * flat. The price is a rule for whoever consumes `onChunk`: the chunk is only valid during the
 * call, unless it returns false, which pauses reading until `socket.resume()`.
 */
import { connect, type Socket } from "node:net";

const READ_BUFFER_BYTES = 64 * 1024;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const HEAD_END = Buffer.from("\r\n\r\n");

export interface UpstreamConnection {
  socket: Socket;
  /** Chromium's 101 answer: status line and headers, without the blank line. */
  responseHead: string;
  /** Bytes Chromium sent right behind its answer (already the first frames). A stable copy. */
  early: Buffer;
  /** Receives every later chunk; see the module comment for its lifetime rule. */
  onChunk: (chunk: Buffer) => boolean;
}

export class UpstreamRefused extends Error {
  constructor(readonly status: number) {
    super(`browser answered ${status}`);
  }
}

export function openUpstream(port: number, path: string, key: string): Promise<UpstreamConnection> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let connection: UpstreamConnection | undefined;
    const socket = connect({
      host: "127.0.0.1",
      port,
      noDelay: true,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (bytes: number, buffer: Buffer) => {
          if (connection) return connection.onChunk(buffer.subarray(0, bytes));
          received = Buffer.concat([received, buffer.subarray(0, bytes)]); // copies: the buffer is reused
          const end = received.indexOf(HEAD_END);
          if (end < 0) return true;
          const responseHead = received.subarray(0, end).toString("latin1");
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(responseHead)?.[1] ?? 0);
          if (status !== 101) {
            socket.destroy();
            reject(new UpstreamRefused(status));
            return false;
          }
          clearTimeout(timer);
          connection = { socket, responseHead, early: received.subarray(end + HEAD_END.length), onChunk: () => true };
          resolve(connection);
          return true;
        },
      },
    });
    const timer = setTimeout(() => socket.destroy(new Error("browser handshake timed out")), HANDSHAKE_TIMEOUT_MS);
    socket.once("error", (err) => {
      clearTimeout(timer);
      if (!connection) reject(err);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      if (!connection) reject(new Error("browser closed the connection during the handshake"));
    });
    // Host is what Chromium insists on; no Origin (refused by Chromium unless allowed, and the
    // token has been checked), no Sec-WebSocket-Extensions (no deflate toward Chromium, ever).
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
    );
  });
}
