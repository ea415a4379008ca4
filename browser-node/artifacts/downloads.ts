/**
 * Downloads: Chromium saves them in the session's downloads folder, and the node PUTs a zip of the
 * folder to the edge whenever something changed (every flush interval, on the edge's request, and
 * at the end).
 *
 * Clients may set their own download behaviour (Playwright sends `Browser.setDownloadBehavior`
 * with a folder of its own for every context it sees; Stagehand's local launcher does too), which
 * replaces the node's. The node's CDP connection keeps receiving `Browser.downloadProgress` all
 * the same (measured on Chromium 156), and its `completed` event names the file wherever it was
 * written: a file outside the folder is copied in under its suggested name. So every completed
 * download is collected, while the client's own download handling keeps working. A client that
 * sets `deny` gets no download, as it asked.
 */
import { existsSync } from "node:fs";
import { copyFile, readdir, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { numberedFileName, plainFileName } from "../../edge/file-names.ts";
import { ArtifactLimits } from "../../edge/node-protocol.ts";
import { log } from "../log.ts";
import { zipFiles } from "./archive.ts";
import type { EdgeArtifacts } from "./edge-artifacts.ts";
import type { SideCdp } from "./side-cdp.ts";

/** Downloads in progress remembered at once (their suggested names); more are named by guid. */
const MAX_TRACKED = 1000;
/** Room for the zip's headers and directory: a file is left out when the zip would pass the bound. */
const PER_ENTRY_OVERHEAD = 200;

export class Downloads {
  private readonly names = new Map<string, string>();
  private readonly contexts = new Set<string>();
  private changed = false;
  private flushing: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private zipCount = 0;

  constructor(
    readonly dir: string,
    private readonly workDir: string,
    private readonly edge: EdgeArtifacts,
  ) {}

  /** Sends downloads of the default context and of every context created later into the folder. */
  async attach(cdp: SideCdp) {
    cdp.on((method, params) => {
      if (method === "Target.targetCreated") void this.coverContext(cdp, params.targetInfo?.browserContextId);
      else if (method === "Browser.downloadWillBegin") this.willBegin(params.guid, params.suggestedFilename);
      else if (method === "Browser.downloadProgress" && params.state === "completed") void this.completed(params.guid, params.filePath);
    });
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: this.dir, eventsEnabled: true });
  }

  private async coverContext(cdp: SideCdp, contextId: string | undefined) {
    if (!contextId || this.contexts.has(contextId)) return;
    this.contexts.add(contextId);
    await cdp
      .send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: this.dir, eventsEnabled: true, browserContextId: contextId })
      .catch(() => this.contexts.delete(contextId)); // the default context, or one already gone
  }

  private willBegin(guid: string, suggested: string) {
    if (typeof guid !== "string" || this.names.size >= MAX_TRACKED) return;
    this.names.set(guid, plainFileName(String(suggested ?? "")) ?? "download");
  }

  private async completed(guid: string, filePath: string | undefined) {
    const name = this.names.get(guid) ?? plainFileName(String(guid)) ?? "download";
    this.names.delete(guid);
    if (typeof filePath === "string" && filePath && resolve(dirname(filePath)) !== resolve(this.dir)) {
      try {
        await copyFile(filePath, join(this.dir, freeNameIn(this.dir, name)));
      } catch (err) {
        log("download-not-collected", { problem: err instanceof Error ? err.message : String(err) }, "warn");
        return;
      }
    }
    this.changed = true;
  }

  /**
   * PUTs the zip if anything changed since the last accepted one; resolves once the edge took it.
   * Flushes never overlap: a call during one waits for it and then runs once more if needed.
   */
  flush(): Promise<void> {
    if (this.flushing) {
      return (this.next ??= this.flushing
        .catch(() => {})
        .then(() => {
          this.next = undefined;
          return this.flush();
        }));
    }
    if (!this.changed) return Promise.resolve();
    this.flushing = this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce() {
    this.changed = false;
    const zip = join(this.workDir, `downloads-${++this.zipCount}.zip`);
    try {
      const entries = await this.files();
      if (entries.length === 0) return;
      await zipFiles(entries, zip);
      await this.edge.putFile("downloads", zip, "application/zip");
      log("downloads-flushed", { files: entries.length });
    } catch (err) {
      this.changed = true; // try again next time
      throw err;
    } finally {
      await rm(zip, { force: true });
    }
  }

  /** The folder's finished files, oldest first, as many as fit the downloads bound. */
  private async files() {
    const found: Array<{ name: string; path: string; size: number; mtime: number }> = [];
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.endsWith(".crdownload")) continue;
      const path = join(this.dir, entry.name);
      const info = await stat(path).catch(() => undefined);
      if (info) found.push({ name: entry.name, path, size: info.size, mtime: info.mtimeMs });
    }
    found.sort((a, b) => a.mtime - b.mtime);
    let total = 22;
    const kept = [];
    for (const file of found) {
      const cost = file.size + PER_ENTRY_OVERHEAD + 2 * Buffer.byteLength(file.name);
      if (total + cost > ArtifactLimits.downloadsBytes) {
        log("download-left-out", { name: file.name, size: file.size, reason: "the downloads zip is full" }, "warn");
        continue;
      }
      total += cost;
      kept.push({ name: file.name, path: file.path });
    }
    return kept;
  }
}

/** `name` in `dir`, or `name (1)`, `name (2)`, ... when taken. */
function freeNameIn(dir: string, name: string): string {
  if (!existsSync(join(dir, name))) return name;
  for (let n = 1; ; n++) {
    const candidate = numberedFileName(name, n);
    if (!existsSync(join(dir, candidate))) return candidate;
  }
}
