/**
 * A CONNECT through the session's upstream proxy, with its credentials: the tunnel is handed
 * back once the proxy answered 2xx. Its refusals name the proxy's answer, never the credentials.
 */
import type { Socket } from "node:net";
import { EgressRefusal } from "./dial.ts";
import type { Upstream } from "./policy.ts";

/** An answer head larger than this is not a proxy's. */
const MAX_HEAD_BYTES = 16 * 1024;
const CONNECT_TIMEOUT_MS = 30_000;

export function tunnelThrough(socket: Socket, upstream: Upstream, authority: string): Promise<Socket> {
  const who = upstream.managed ? "the managed proxy" : `the upstream proxy ${upstream.host}:${upstream.port}`;
  return new Promise<Socket>((resolve, reject) => {
    let head = Buffer.alloc(0);
    const fail = (why: string) => {
      cleanup();
      socket.destroy();
      reject(new EgressRefusal(`${who}: ${why}`));
    };
    const onError = (error: Error) => fail(error.message);
    const onClose = () => fail("closed the connection before answering CONNECT");
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) fail("answered CONNECT with an oversized head");
        return;
      }
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString("latin1"))?.[1];
      if (!status || !status.startsWith("2")) return fail(`answered CONNECT ${authority} with ${status ?? "no HTTP status"}`);
      cleanup();
      socket.pause(); // until the caller pipes it: nothing may flow past unread
      const rest = head.subarray(end + 4);
      if (rest.length) socket.unshift(rest);
      resolve(socket);
    };
    const timer = setTimeout(() => fail(`no answer to CONNECT within ${CONNECT_TIMEOUT_MS} ms`), CONNECT_TIMEOUT_MS);
    function cleanup() {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
    }
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.once("connect", () => {
      socket.on("data", onData);
      const auth = upstream.authorization ? `Proxy-Authorization: ${upstream.authorization}\r\n` : "";
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
    });
  });
}
