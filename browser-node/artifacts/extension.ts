/**
 * The session's extension (`browserSettings.extensionId`): fetched from the edge before Chromium
 * starts and unpacked into the session's folder, which the launch flags load. The edge already
 * checked the zip (a manifest.json at its root, no entry outside it); the node checks again.
 */
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ArtifactLimits } from "../../edge/node-protocol.ts";
import { log } from "../log.ts";
import { NodeError } from "../node-error.ts";
import { unzipInto } from "./archive.ts";
import type { EdgeArtifacts } from "./edge-artifacts.ts";

/** Unpacked, an extension may be this much larger than its 100 MiB zip, and no more. */
const UNPACKED_BYTES = 4 * ArtifactLimits.extensionBytes;

/** Returns the folder of the unpacked extension, or undefined when the edge has none (deleted meanwhile). */
export async function fetchExtension(edge: EdgeArtifacts, workDir: string, extensionId: string): Promise<string | undefined> {
  const zip = join(workDir, "extension.zip");
  if (!(await edge.fetchFile("extension", zip, ArtifactLimits.extensionBytes))) {
    log("extension-missing", { extensionId }, "warn");
    return undefined;
  }
  const dir = join(workDir, "extension");
  await mkdir(dir);
  try {
    await unzipInto(zip, dir, UNPACKED_BYTES);
  } catch (err) {
    throw new NodeError("not-ready", `extension ${extensionId}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await rm(zip, { force: true });
  }
  if (!existsSync(join(dir, "manifest.json"))) throw new NodeError("not-ready", `extension ${extensionId}: no manifest.json at the root of its zip`);
  log("extension-unpacked", { extensionId });
  return dir;
}
