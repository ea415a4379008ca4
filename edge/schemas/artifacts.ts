/**
 * Extensions, contexts and a session's artifacts, field by field as @browserbasehq/sdk 2.21
 * types them (resources/extensions.d.ts, contexts.d.ts, sessions/{uploads,logs,recording}.d.ts).
 * Bodies the edge streams (multipart uploads, archives) are documented with plain OpenAPI
 * schemas: a zod schema would make the route buffer and parse the whole body before its handler.
 */
import { z } from "@hono/zod-openapi";
import { SessionLogEntry } from "./node-messages.ts";

const iso = z.iso.datetime();

export const Extension = z
  .object({ id: z.string(), createdAt: iso, updatedAt: iso, fileName: z.string(), projectId: z.string() })
  .openapi("Extension");

export const Context = z
  .object({ id: z.string(), createdAt: iso, updatedAt: iso, projectId: z.string(), name: z.string().optional() })
  .openapi("Context");

export const ContextCreateResponse = z
  .object({
    id: z.string(),
    cipherAlgorithm: z.string().openapi({ description: '"none": profiles are stored server-side (R2), not encrypted by the client' }),
    initializationVectorSize: z.number().openapi({ description: "0: no client-side encryption" }),
    publicKey: z.string().openapi({ description: '"": no client-side encryption' }),
    uploadUrl: z.string().openapi({ description: "PUT a tar.gz of a Chromium user-data dir here (API key) to seed the context's profile" }),
  })
  .openapi("ContextCreateResponse");

export const ContextCreateBody = z
  .object({ projectId: z.string().optional(), name: z.string().trim().min(1).max(200).optional() })
  .openapi("ContextCreateParams");

export const ProfileStored = z.object({ id: z.string(), bytes: z.number().int() }).openapi("ContextProfileStored");

export const UploadCreateResponse = z.object({ message: z.string() }).openapi("UploadCreateResponse");

// Rebuilt here: the protocol's schemas come from plain zod, which has no `.openapi()`.
export const SessionLog = z.object(SessionLogEntry.shape).openapi("SessionLog");

export const SessionRecording = z
  .object({
    type: z.number().int(),
    timestamp: z.number(),
    data: z.record(z.string(), z.unknown()),
    sessionId: z.string(),
    pageId: z.string().optional(),
  })
  .loose()
  .openapi("SessionRecording");

export const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

const binary = { type: "string" as const, format: "binary" };

/** A multipart/form-data body with one `file` part (documented, streamed by the handler). */
export const multipartFile = (description: string, maxBytes: number) => ({
  content: {
    "multipart/form-data": {
      schema: { type: "object" as const, properties: { file: { ...binary, description: `${description}; at most ${maxBytes} bytes` } }, required: ["file"] },
    },
  },
  required: true,
});

/** A raw binary body (documented, streamed by the handler). */
export const binaryBody = (mediaType: string, description: string) => ({
  content: { [mediaType]: { schema: { ...binary, description } } },
  required: true,
});

export const binaryAnswer = (mediaType: string, description: string) => ({
  content: { [mediaType]: { schema: binary } },
  description,
});

export const NoContent = { description: "Done; no body" };

/**
 * A JSON answer the handler wrote itself (pre-joined text or a stream, which Hono's `c.json`
 * cannot take), passed off as the route's typed JSON answer: the route's schema still documents it.
 */
export const rawJson = (body: BodyInit) => new Response(body, { headers: { "content-type": "application/json" } }) as never;

/** What a node's artifact write answers. */
export const Stored = z.object({ bytes: z.number().int() }).openapi("ArtifactStored");
export const Appended = z.object({ accepted: z.number().int(), kept: z.number().int() }).openapi("ArtifactAppended");

