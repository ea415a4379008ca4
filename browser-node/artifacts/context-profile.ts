/**
 * The session's context (`browserSettings.context`): its saved profile is unpacked into the fresh
 * user-data dir before Chromium starts, and with `persist: true` the profile is packed and PUT
 * back once Chromium has stopped cleanly (its cookies and Local Storage are flushed by then).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { ArtifactLimits } from "../../edge/node-protocol.ts";
import { log } from "../log.ts";
import { tarGzFolder, untarGzInto } from "./archive.ts";
import type { EdgeArtifacts } from "./edge-artifacts.ts";

/** A profile's tar may unpack to this much at most (Chromium profiles compress 3–5×). */
const UNPACKED_BYTES = 10 * ArtifactLimits.contextBytes;

/**
 * Left out of a saved profile: caches Chromium rebuilds, its lock files (they name this host and
 * pid), and the crashpad folder the node keeps in the profile (XDG_CONFIG_HOME).
 */
export const PROFILE_EXCLUDES = [
  "./Singleton*",
  "./config",
  "./Crashpad",
  "./BrowserMetrics*",
  "*/Cache",
  "*/Code Cache",
  "*/GPUCache",
  "*/DawnGraphiteCache",
  "*/DawnWebGPUCache",
  "*/GrShaderCache",
  "*/GraphiteDawnCache",
  "*/ShaderCache",
  "*/Service Worker/CacheStorage",
];

/** Unpacks the context's saved profile into `profileDir`; false when none was saved yet. */
export async function restoreProfile(edge: EdgeArtifacts, workDir: string, profileDir: string): Promise<boolean> {
  const archive = join(workDir, "context.tar.gz");
  try {
    if (!(await edge.fetchFile("context", archive, ArtifactLimits.contextBytes))) return false;
    await untarGzInto(archive, profileDir, UNPACKED_BYTES);
    return true;
  } finally {
    await rm(archive, { force: true });
  }
}

/** Packs `profileDir` and PUTs it as the context's profile. Never throws: the session ends either way. */
export async function saveProfile(edge: EdgeArtifacts, workDir: string, profileDir: string, contextId: string): Promise<boolean> {
  const archive = join(workDir, "context-out.tar.gz");
  try {
    const bytes = await tarGzFolder(profileDir, archive, PROFILE_EXCLUDES, ArtifactLimits.contextBytes);
    await edge.putFile("context", archive, "application/gzip");
    log("context-saved", { contextId, bytes });
    return true;
  } catch (err) {
    log("context-not-saved", { contextId, problem: err instanceof Error ? err.message : String(err) }, "error");
    return false;
  } finally {
    await rm(archive, { force: true });
  }
}
