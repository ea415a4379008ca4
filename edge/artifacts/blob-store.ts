/**
 * Blobs in R2 (`BLOBS`): where each artifact lives, and a writer for bodies of unknown length.
 *
 *   projects/<project>/extensions/<extension>.zip
 *   projects/<project>/contexts/<context>/<upload>.tar.gz   (the saved profile; the project's record names the current one)
 *   sessions/<session>/downloads/<upload>.zip               (the latest one; the session's record names it)
 *   sessions/<session>/recording/<n>.json                   (one batch of events each, JSON array items without brackets)
 *   sessions/<session>/uploads/<file name>                  (a client's upload, until its node has fetched it)
 *
 * Replaced blobs get a fresh key and are committed by their Durable Object before the old one is
 * deleted, so a reader never sees half of a new one and a refused one never replaces a good one.
 */
import { ApiError } from "../errors.ts";
import type { ByteSource } from "./zip.ts";

export const blobKey = {
  extension: (projectId: string, id: string) => `projects/${projectId}/extensions/${id}.zip`,
  contextDir: (projectId: string, contextId: string) => `projects/${projectId}/contexts/${contextId}/`,
  profile: (projectId: string, contextId: string) => `${blobKey.contextDir(projectId, contextId)}${crypto.randomUUID()}.tar.gz`,
  sessionDir: (sessionId: string) => `sessions/${sessionId}/`,
  downloads: (sessionId: string) => `sessions/${sessionId}/downloads/${crypto.randomUUID()}.zip`,
  recording: (sessionId: string, n: number) => `sessions/${sessionId}/recording/${String(n).padStart(8, "0")}.json`,
  stagedUpload: (sessionId: string, fileName: string) => `sessions/${sessionId}/uploads/${fileName}`,
};

/**
 * R2 wants a known length for a streamed put. A body of unknown length (a multipart part, a
 * chunked PUT) goes up in parts of this size: R2's smallest allowed part, so at most this much is
 * held in memory. A body that fits in one part is a single put.
 */
export const PART_BYTES = 5 * 1024 * 1024;

/** Stores `chunks` under `key`; refuses (413, naming `what`) past `maxBytes`, leaving nothing behind. */
export async function putStream(
  bucket: R2Bucket,
  key: string,
  chunks: AsyncIterable<Uint8Array>,
  options: { maxBytes: number; contentType: string; what: string },
): Promise<number> {
  let part = new Uint8Array(PART_BYTES);
  let filled = 0;
  let total = 0;
  let upload: R2MultipartUpload | undefined;
  const parts: R2UploadedPart[] = [];
  try {
    for await (let chunk of chunks) {
      total += chunk.length;
      if (total > options.maxBytes) throw new ApiError(413, `${options.what}: larger than ${options.maxBytes} bytes`);
      while (chunk.length > 0) {
        const n = Math.min(chunk.length, PART_BYTES - filled);
        part.set(chunk.subarray(0, n), filled);
        filled += n;
        chunk = chunk.subarray(n);
        if (filled === PART_BYTES) {
          upload ??= await bucket.createMultipartUpload(key, { httpMetadata: { contentType: options.contentType } });
          parts.push(await upload.uploadPart(parts.length + 1, part));
          part = new Uint8Array(PART_BYTES);
          filled = 0;
        }
      }
    }
    if (!upload) {
      await bucket.put(key, part.subarray(0, filled), { httpMetadata: { contentType: options.contentType } });
      return total;
    }
    if (filled > 0) parts.push(await upload.uploadPart(parts.length + 1, part.subarray(0, filled)));
    await upload.complete(parts);
    return total;
  } catch (error) {
    await upload?.abort().catch(() => {});
    throw error;
  }
}

/** Reads a stored blob by ranges (the zip reader needs only its end and its central directory). */
export function blobSource(bucket: R2Bucket, key: string, size: number): ByteSource {
  return {
    size,
    async read(offset, length) {
      const object = await bucket.get(key, { range: { offset, length } });
      if (!object) throw new Error(`blob ${key} vanished`);
      return new Uint8Array(await object.arrayBuffer());
    },
  };
}

/** Deletes every blob under `prefix` (a session's or a context's folder). */
export async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<void> {
  // Listed again from the start each round: what was deleted is gone from the listing.
  for (;;) {
    const page = await bucket.list({ prefix, limit: 1000 });
    if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
    if (!page.truncated) return;
  }
}

/** A stored blob as a download, or undefined when there is none. */
export async function blobResponse(bucket: R2Bucket, key: string | undefined, contentType: string): Promise<Response | undefined> {
  const object = key ? await bucket.get(key) : null;
  if (!object) return undefined;
  return new Response(object.body, { headers: { "content-type": contentType, "content-length": String(object.size), "cache-control": "no-store" } });
}
