/**
 * Storing an archive a client or a node sends: streamed into R2 under a fresh key, checked where
 * it lies (read by ranges), then committed by the Durable Object that owns it. Whatever fails on
 * the way (a bound, a bad archive, a commit refused) deletes the new blob, and the one committed
 * before stays as it was.
 */
import { ArtifactLimits } from "../node-protocol.ts";
import type { EdgeEnv } from "../env.ts";
import { ApiError, unwrap } from "../errors.ts";
import type { ExtensionRow } from "../projects/artifact-catalog.ts";
import { blobKey, blobSource, putStream } from "./blob-store.ts";
import { plainFileName } from "../file-names.ts";
import type { FilePart } from "./request-body.ts";
import { readZipEntries, unsafeEntry, ZipError, type ZipEntry } from "./zip.ts";

async function storeBlob<T>(
  bucket: R2Bucket,
  key: string,
  chunks: AsyncIterable<Uint8Array>,
  options: { maxBytes: number; contentType: string; what: string },
  commit: (bytes: number) => Promise<T>,
): Promise<T> {
  try {
    return await commit(await putStream(bucket, key, chunks, options));
  } catch (error) {
    await bucket.delete(key).catch(() => {});
    throw error;
  }
}

/** The archive's entries, or a 400 naming `what` and the reason. */
async function zipEntries(bucket: R2Bucket, key: string, bytes: number, what: string): Promise<ZipEntry[]> {
  try {
    return await readZipEntries(blobSource(bucket, key, bytes));
  } catch (error) {
    if (error instanceof ZipError) throw new ApiError(400, `${what}: ${error.message}`);
    throw error;
  }
}

/** A Chrome extension: a zip with `manifest.json` at its root, and no entry that would unpack outside its folder. */
export async function storeExtension(env: EdgeEnv, projectId: string, part: FilePart): Promise<ExtensionRow> {
  const id = crypto.randomUUID();
  const key = blobKey.extension(projectId, id);
  const limits = { maxBytes: ArtifactLimits.extensionBytes, contentType: "application/zip", what: "file" };
  return storeBlob(env.BLOBS, key, part.chunks, limits, async (bytes) => {
    const entries = await zipEntries(env.BLOBS, key, bytes, "file");
    const unsafe = unsafeEntry(entries);
    if (unsafe) throw new ApiError(400, `file: the zip holds an entry outside its root: ${JSON.stringify(unsafe.name)}`);
    if (!entries.some((e) => e.name === "manifest.json")) throw new ApiError(400, "file: no manifest.json at the root of the zip");
    const now = Date.now();
    const row = { id, fileName: plainFileName(part.fileName) ?? "extension.zip", bytes, blob: key, createdAt: now, updatedAt: now };
    return unwrap(await env.PROJECTS.getByName(projectId).addExtension(row));
  });
}

/**
 * A context's profile (a tar.gz of Chromium's user-data dir), from the client or from the node of
 * session `writer` (kept only while that session holds the context).
 */
export function storeProfile(env: EdgeEnv, projectId: string, contextId: string, chunks: AsyncIterable<Uint8Array>, writer?: string) {
  const key = blobKey.profile(projectId, contextId);
  const limits = { maxBytes: ArtifactLimits.contextBytes, contentType: "application/gzip", what: "profile" };
  return storeBlob(env.BLOBS, key, chunks, limits, async (bytes) => {
    const magic = await blobSource(env.BLOBS, key, bytes).read(0, 2);
    if (magic[0] !== 0x1f || magic[1] !== 0x8b) throw new ApiError(400, "profile: not a gzip archive (expected a tar.gz of the user-data dir)");
    return unwrap(await env.PROJECTS.getByName(projectId).commitProfile(contextId, key, bytes, writer));
  });
}

/** The zip of everything the session's browser downloaded so far; it replaces the previous one. */
export function storeDownloads(env: EdgeEnv, sessionId: string, chunks: AsyncIterable<Uint8Array>) {
  const key = blobKey.downloads(sessionId);
  const limits = { maxBytes: ArtifactLimits.downloadsBytes, contentType: "application/zip", what: "downloads" };
  return storeBlob(env.BLOBS, key, chunks, limits, async (bytes) => {
    await zipEntries(env.BLOBS, key, bytes, "downloads");
    return unwrap(await env.SESSIONS.getByName(sessionId).commitDownloads(key, bytes));
  });
}
