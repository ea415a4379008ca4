/**
 * Request bodies are bounded before any route reads them: 1 MiB, except the routes that take
 * files and archives (streamed, so their larger bounds cost no memory) and the node's batches.
 * Those routes also count the bytes themselves and name the field that went over.
 */
import { createMiddleware } from "hono/factory";
import { bodyLimit } from "hono/body-limit";
import { ArtifactLimits } from "../node-protocol.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { MULTIPART_OVERHEAD_BYTES } from "../artifacts/request-body.ts";

const DEFAULT_BYTES = 1024 * 1024;

const LARGER: [method: string, path: RegExp, bytes: number][] = [
  ["POST", /^\/v1\/extensions$/, ArtifactLimits.extensionBytes + MULTIPART_OVERHEAD_BYTES],
  ["POST", /^\/v1\/sessions\/[^/]+\/uploads$/, ArtifactLimits.uploadBytes + MULTIPART_OVERHEAD_BYTES],
  ["PUT", /^\/v1\/contexts\/[^/]+\/profile$/, ArtifactLimits.contextBytes],
  ["PUT", /^\/internal\/nodes\/[^/]+\/context$/, ArtifactLimits.contextBytes],
  ["PUT", /^\/internal\/nodes\/[^/]+\/downloads$/, ArtifactLimits.downloadsBytes],
  ["POST", /^\/internal\/nodes\/[^/]+\/(logs|recording)$/, ArtifactLimits.batchBytes],
];

const limiter = (bytes: number) =>
  bodyLimit({
    maxSize: bytes,
    onError: () => {
      throw new ApiError(413, bytes === DEFAULT_BYTES ? "Request body larger than 1 MiB" : `Request body larger than ${bytes} bytes`);
    },
  });

const limiters = new Map([DEFAULT_BYTES, ...LARGER.map(([, , bytes]) => bytes)].map((bytes) => [bytes, limiter(bytes)]));

export const bodyLimits = createMiddleware<AppEnv>((c, next) => {
  const bytes = LARGER.find(([method, path]) => method === c.req.method && path.test(c.req.path))?.[2] ?? DEFAULT_BYTES;
  return limiters.get(bytes)!(c, next);
});
