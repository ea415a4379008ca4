/**
 * Uploads (`POST /v1/sessions/{id}/uploads` at the edge): the edge stages the file and asks the
 * node over the link (`upload` call); the node GETs it (`nodeStagedUploadPath`, node token) into
 * the session's uploads folder and answers the absolute path a page's file input takes (CDP
 * `DOM.setFileInputFiles`, Playwright `setInputFiles(path)` on an element handle's CDP session,
 * Puppeteer `uploadFile`). The name must be a plain file name; the body is bounded while it
 * streams; it is written under a temporary name and renamed only once it arrived whole, so a
 * refused or cut transfer leaves nothing; a later upload of the same name replaces the file.
 */
import { randomBytes } from "node:crypto";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { plainFileName } from "../../edge/file-names.ts";
import { ArtifactLimits, type NodeUploadReply } from "../../edge/node-protocol.ts";
import { log } from "../log.ts";
import { NodeError } from "../node-error.ts";
import type { EdgeArtifacts } from "./edge-artifacts.ts";

export async function receiveStagedUpload(edge: EdgeArtifacts, uploadsDir: string, name: string): Promise<NodeUploadReply> {
  if (plainFileName(name) !== name) throw new NodeError("error", `not a plain file name: ${JSON.stringify(name.slice(0, 100))}`, { status: 400 });
  const partial = join(uploadsDir, `.partial-${randomBytes(8).toString("hex")}`);
  try {
    if (!(await edge.fetchUpload(name, partial, ArtifactLimits.uploadBytes))) {
      throw new NodeError("error", `the edge has no upload staged as ${JSON.stringify(name)}`, { status: 404 });
    }
    const path = join(uploadsDir, name);
    await rename(partial, path);
    log("upload-received", { name });
    return { path };
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
