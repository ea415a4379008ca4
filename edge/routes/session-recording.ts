/**
 * `GET /v1/sessions/{id}/recording`: the session's rrweb events (the SDK's SessionRecording:
 * type, timestamp, data, sessionId; plus the node's pageId and any other field it sent), in the
 * order the node shipped them. Streamed from R2, one stored batch after another, so a recording
 * of ArtifactLimits.recordingBytes never sits in memory. `recordSession: false`: `[]`.
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { unwrap, validationHook } from "../errors.ts";
import { log } from "../log.ts";
import { errors, json } from "../schemas/common.ts";
import { SessionIdParam } from "../schemas/session.ts";
import { rawJson, SessionRecording } from "../schemas/artifacts.ts";
import { sessionStub } from "./scope.ts";

export const sessionRecording = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

sessionRecording.openapi(
  createRoute({
    method: "get",
    path: "/v1/sessions/{id}/recording",
    tags: ["sessions"],
    request: { params: SessionIdParam },
    responses: { 200: json(SessionRecording.array(), "rrweb events, in the order recorded"), ...errors },
  }),
  async (c) => {
    const blobs = unwrap(await sessionStub(c.env, c.req.valid("param").id).recordingBlobs(c.get("projectId")));
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    c.executionCtx.waitUntil(joinBlobs(c.env.BLOBS, blobs, writable));
    return rawJson(readable);
  },
);

/** `[` blob `,` blob ... `]`; a blob whose write failed (a gap) is skipped. */
async function joinBlobs(bucket: R2Bucket, keys: string[], writable: WritableStream<Uint8Array>) {
  const encoder = new TextEncoder();
  let written = 0;
  try {
    const writer = writable.getWriter();
    await writer.write(encoder.encode("["));
    writer.releaseLock();
    for (const key of keys) {
      const object = await bucket.get(key);
      if (!object) continue;
      if (written++) await writeText(writable, ",");
      await object.body.pipeTo(writable, { preventClose: true });
    }
    await writeText(writable, "]");
    await writable.close();
  } catch (error) {
    log("warn", "session.recording_read_failed", { error: String(error) });
    await writable.abort(error).catch(() => {});
  }

  async function writeText(stream: WritableStream<Uint8Array>, text: string) {
    const writer = stream.getWriter();
    await writer.write(encoder.encode(text));
    writer.releaseLock();
  }
}
