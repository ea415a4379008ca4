/**
 * Request bodies are bounded before any route reads them: 1 MiB by default, more for the node's
 * batches (both read whole by Hono's bodyLimit, which buffers a body that has no length). The
 * routes that take files and archives stream their bodies and count the bytes themselves (naming
 * the field that went over); here only their declared length is checked, so nothing is buffered.
 */
import { createMiddleware } from "hono/factory";
import { bodyLimit } from "hono/body-limit";
import { ArtifactLimits } from "../node-protocol.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { MULTIPART_OVERHEAD_BYTES } from "../artifacts/request-body.ts";

export const DEFAULT_BODY_BYTES = 1024 * 1024;

type Bound = [method: string, path: RegExp, bytes: number];

const STREAMED: Bound[] = [
  ["POST", /^\/v1\/extensions$/, ArtifactLimits.extensionBytes + MULTIPART_OVERHEAD_BYTES],
  ["POST", /^\/v1\/sessions\/[^/]+\/uploads$/, ArtifactLimits.uploadBytes + MULTIPART_OVERHEAD_BYTES],
  ["PUT", /^\/v1\/contexts\/[^/]+\/profile$/, ArtifactLimits.contextBytes],
  ["PUT", /^\/internal\/nodes\/[^/]+\/context$/, ArtifactLimits.contextBytes],
  ["PUT", /^\/internal\/nodes\/[^/]+\/downloads$/, ArtifactLimits.downloadsBytes],
];
const BATCHES: Bound[] = [["POST", /^\/internal\/nodes\/[^/]+\/(logs|recording)$/, ArtifactLimits.batchBytes]];

const tooLarge = (bytes: number) => new ApiError(413, bytes === DEFAULT_BODY_BYTES ? "Request body larger than 1 MiB" : `Request body larger than ${bytes} bytes`);
const find = (bounds: Bound[], method: string, path: string) => bounds.find(([m, p]) => m === method && p.test(path))?.[2];

/** A route's bound, and whether the route streams its body (then it counts the bytes itself). */
export function bodyLimitOf(method: string, path: string): { bytes: number; streamed: boolean } {
  const streamed = find(STREAMED, method, path);
  return streamed ? { bytes: streamed, streamed: true } : { bytes: find(BATCHES, method, path) ?? DEFAULT_BODY_BYTES, streamed: false };
}

const buffered = new Map(
  [DEFAULT_BODY_BYTES, ...BATCHES.map(([, , bytes]) => bytes)].map((bytes) => [
    bytes,
    bodyLimit({
      maxSize: bytes,
      onError: () => {
        throw tooLarge(bytes);
      },
    }),
  ]),
);

export const bodyLimits = createMiddleware<AppEnv>(async (c, next) => {
  const { bytes, streamed } = bodyLimitOf(c.req.method, c.req.path);
  if (!streamed) return buffered.get(bytes)!(c, next);
  if (Number(c.req.header("content-length") ?? 0) > bytes) throw tooLarge(bytes);
  await next();
});
