/**
 * Plays the parts of a browser node's proxy that the edge calls (node-protocol.ts): the upload
 * receiver (`PUT /uploads/<name>`) and the downloads flush (`POST /downloads/flush`), each behind
 * the session's CDP token, checked with jose against the run's public key as a node checks it.
 * It records what it got, for the tests to read at `GET /_control/...`:
 *   /_control/uploads          every upload: name, session, bytes, sha256, headers, or why it failed
 *   /_control/flushes          the sessions that asked for a flush and still wait for its answer
 *   POST /_control/release/<session>   answers that session's pending flush (204)
 * A name starting "refuse-" is answered 413 at once, before the body is read (then drained), as a
 * node over its bound would.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createLocalJWKSet, jwtVerify, type JWK } from "jose";
import type { ReceivedUpload } from "./received-upload.ts";
import { ArtifactLimits, CDP_TOKEN_AUDIENCE, NODE_DOWNLOADS_FLUSH_PATH, TOKEN_ALGORITHM, TOKEN_ISSUER } from "../../../edge/node-protocol.ts";

export async function startNodeReceiver(signingKeyJson: string): Promise<{ port: number; close(): Promise<void> }> {
  const { d: _private, ...publicJwk } = JSON.parse(signingKeyJson) as JWK;
  const keys = createLocalJWKSet({ keys: [publicJwk] });
  const uploads: ReceivedUpload[] = [];
  const pendingFlushes = new Map<string, ServerResponse>();

  const verify = async (req: IncomingMessage) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, keys, { algorithms: [TOKEN_ALGORITHM], issuer: TOKEN_ISSUER, audience: CDP_TOKEN_AUDIENCE });
      return { sessionId: payload.sub, projectId: payload.pid as string | undefined };
    } catch {
      return undefined;
    }
  };
  const json = (res: ServerResponse, status: number, body?: unknown) =>
    res.writeHead(status, { "content-type": "application/json", connection: "close" }).end(body === undefined ? undefined : JSON.stringify(body));

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://node");
    if (req.method === "GET" && url.pathname === "/_control/uploads") return json(res, 200, uploads);
    if (req.method === "GET" && url.pathname === "/_control/flushes") return json(res, 200, [...pendingFlushes.keys()]);
    if (req.method === "POST" && url.pathname.startsWith("/_control/release/")) {
      const waiting = pendingFlushes.get(url.pathname.slice("/_control/release/".length));
      pendingFlushes.delete(url.pathname.slice("/_control/release/".length));
      waiting?.writeHead(204, { connection: "close" }).end();
      return json(res, waiting ? 200 : 404, { released: Boolean(waiting) });
    }

    const caller = await verify(req);
    if (req.method === "POST" && url.pathname === NODE_DOWNLOADS_FLUSH_PATH) {
      if (!caller?.sessionId) return json(res, 401, { message: "bad token" });
      pendingFlushes.set(caller.sessionId, res);
      return;
    }
    if (req.method === "PUT" && url.pathname.startsWith("/uploads/")) {
      const name = decodeURIComponent(url.pathname.slice("/uploads/".length));
      const record: ReceivedUpload = {
        name,
        ...caller,
        bytes: 0,
        contentType: req.headers["content-type"],
        transferEncoding: req.headers["transfer-encoding"],
        status: 0,
      };
      uploads.push(record);
      if (!caller) return json(res, (record.status = 401), { message: "bad token" });
      if (name.startsWith("refuse-")) {
        // Answered before the body is read; the rest is drained, so closing loses no answer.
        req.resume();
        return json(res, (record.status = 413), { message: "too large for this node" });
      }
      const hash = createHash("sha256");
      try {
        for await (const chunk of req) {
          record.bytes += (chunk as Buffer).length;
          if (record.bytes > ArtifactLimits.uploadBytes) return json(res, (record.status = 413), { message: "too large" });
          hash.update(chunk as Buffer);
        }
      } catch {
        record.status = -1; // the body was cut off: a real node keeps nothing
        return;
      }
      if (!req.complete) return void (record.status = -1);
      record.sha256 = hash.digest("hex");
      return json(res, (record.status = 201), { path: `/tmp/wallcrawler-uploads/${name}` });
    }
    json(res, 404, { message: "not here" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const waiting of pendingFlushes.values()) waiting.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
