/**
 * `POST /v1/sessions/{id}/uploads`: a file (multipart `file`) put on the running session's node,
 * streamed through (`PUT <node>/uploads/<name>` with a short CDP token), where a page's
 * `<input type=file>` can take it. The answer's message names the path on the node.
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { ArtifactLimits, nodeUploadPath } from "../node-protocol.ts";
import { NodeUploadReply } from "../schemas/node-messages.ts";
import type { AppEnv } from "../env.ts";
import { ApiError, unwrap, validationHook } from "../errors.ts";
import { readConfig } from "../config.ts";
import { signCdpToken, signingKey } from "../tokens.ts";
import { error, errors, json } from "../schemas/common.ts";
import { SessionIdParam } from "../schemas/session.ts";
import { multipartFile, UploadCreateResponse } from "../schemas/artifacts.ts";
import { openFilePart, safeFileName } from "../artifacts/request-body.ts";
import { answerJson, requestNode, type NodeAnswer } from "../sessions/node-http.ts";
import { sessionStub } from "./scope.ts";

export const sessionUploads = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

/** An upload of the largest allowed file over a slow link still fits; a stalled one does not hang forever. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

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
    const projectId = c.get("projectId");
    const { node, expiresAt } = unwrap(await sessionStub(c.env, id).liveNode(projectId));
    const part = await openFilePart(c.req.raw, { maxBytes: ArtifactLimits.uploadBytes });
    const name = safeFileName(part.fileName);
    if (!name) throw new ApiError(400, "file: the part needs a filename (a plain file name)");
    const token = await signCdpToken(await signingKey(c.env), {
      sessionId: id.toLowerCase(),
      projectId,
      expiresAtMs: Math.min(expiresAt, Date.now() + UPLOAD_TIMEOUT_MS),
    });
    let answer: NodeAnswer;
    try {
      answer = await requestNode(
        node,
        {
          method: "PUT",
          path: nodeUploadPath(name),
          headers: { Authorization: `Bearer ${token}`, "Content-Type": part.contentType ?? "application/octet-stream" },
          body: part.chunks,
        },
        { tls: readConfig(c.env).connectScheme === "wss", timeoutMs: UPLOAD_TIMEOUT_MS },
      );
    } catch (failure) {
      if (failure instanceof ApiError) throw failure;
      throw new ApiError(502, "The session's browser node did not take the upload");
    }
    if (answer.status === 413) throw new ApiError(413, `file: the browser node refused ${name} as too large`);
    const reply = answer.status < 300 ? NodeUploadReply.safeParse(answerJson(answer)) : undefined;
    if (!reply?.success) throw new ApiError(502, `The session's browser node answered ${answer.status} to the upload`);
    return c.json(
      { message: `Uploaded ${name} to the session's browser at ${reply.data.path}: set that path on a file input (CDP DOM.setFileInputFiles, Puppeteer uploadFile).` },
      200,
    );
  },
);

