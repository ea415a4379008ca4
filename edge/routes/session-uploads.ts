/**
 * `POST /v1/sessions/{id}/uploads`: a file (multipart `file`) put on the running session's node,
 * where a page's `<input type=file>` can take it. The edge stages it in R2 under the session's
 * folder, asks the node over its link to fetch it (`upload`; the node GETs `nodeStagedUploadPath`
 * with its node token), and deletes the staged blob once the node answered. The answer's message
 * names the path on the node.
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { ArtifactLimits } from "../node-protocol.ts";
import { NodeUploadReply } from "../schemas/node-messages.ts";
import type { AppEnv } from "../env.ts";
import { ApiError, unwrap, validationHook } from "../errors.ts";
import { log } from "../log.ts";
import { error, errors, json } from "../schemas/common.ts";
import { SessionIdParam } from "../schemas/session.ts";
import { multipartFile, UploadCreateResponse } from "../schemas/artifacts.ts";
import { openFilePart } from "../artifacts/request-body.ts";
import { plainFileName } from "../file-names.ts";
import { blobKey, putStream } from "../artifacts/blob-store.ts";
import { sessionStub } from "./scope.ts";

export const sessionUploads = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

/** The node fetches the largest allowed file from the edge within this. */
const UPLOAD_CALL_TIMEOUT_MS = 5 * 60_000;

sessionUploads.openapi(
  createRoute({
    method: "post",
    path: "/v1/sessions/{id}/uploads",
    tags: ["sessions"],
    request: { params: SessionIdParam, body: multipartFile("The file, named by its filename", ArtifactLimits.uploadBytes) },
    responses: {
      200: json(UploadCreateResponse, "On the node; the message names its path there"),
      ...errors,
      400: error("No file part, an empty file, or no usable file name"),
      409: error("The session is not running"),
      413: error(`Larger than ${ArtifactLimits.uploadBytes} bytes`),
      502: error("The session's browser node did not take the file"),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const sessionId = id.toLowerCase();
    const projectId = c.get("projectId");
    const session = sessionStub(c.env, id);
    unwrap(await session.liveNode(projectId));
    const part = await openFilePart(c.req.raw, { maxBytes: ArtifactLimits.uploadBytes });
    const name = plainFileName(part.fileName);
    if (!name) throw new ApiError(400, "file: the part needs a filename (a plain file name)");
    const key = blobKey.stagedUpload(sessionId, name);
    try {
      await putStream(c.env.BLOBS, key, part.chunks, {
        maxBytes: ArtifactLimits.uploadBytes,
        contentType: part.contentType ?? "application/octet-stream",
        what: "file",
      });
      const taken = await session.callNode(projectId, { op: "upload", name }, UPLOAD_CALL_TIMEOUT_MS);
      if (!taken.ok) {
        if (taken.error.status === 413) throw new ApiError(413, `file: the browser node refused ${name} as too large`);
        if (taken.error.status === 409) throw ApiError.from(taken.error);
        throw new ApiError(502, "The session's browser node did not take the upload", { cause: taken.error });
      }
      const reply = NodeUploadReply.safeParse(taken.value);
      if (!reply.success) throw new ApiError(502, "The session's browser node did not take the upload");
      return c.json(
        { message: `Uploaded ${name} to the session's browser at ${reply.data.path}: set that path on a file input (CDP DOM.setFileInputFiles, Puppeteer uploadFile).` },
        200,
      );
    } finally {
      await c.env.BLOBS.delete(key).catch((failure) => log("warn", "session.blob_delete_failed", { error: String(failure) }));
    }
  },
);
