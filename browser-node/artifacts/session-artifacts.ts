/**
 * Everything a session leaves behind or brings along, in one place for session.ts: its folder
 * (downloads, uploads, the unpacked extension), the extension and the context profile at start,
 * downloads, the CDP log and the recording while it runs (shipped every
 * ARTIFACT_FLUSH_INTERVAL_MS, so a crash loses at most that much), and the last flush and the
 * profile save at its end, before the node reports `exit`.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARTIFACT_FLUSH_INTERVAL_MS, type NodeUploadReply, type RecordingBatch, type RecordingEvent } from "../../edge/node-protocol.ts";
import type { BrowserSettings } from "../config.ts";
import { log } from "../log.ts";
import { NodeError } from "../node-error.ts";
import { BatchShipper } from "./batch-shipper.ts";
import { restoreProfile, saveProfile } from "./context-profile.ts";
import { Downloads } from "./downloads.ts";
import type { EdgeArtifacts } from "./edge-artifacts.ts";
import { fetchExtension } from "./extension.ts";
import { Recorder } from "./recorder.ts";
import { SessionLog, type RelayTap } from "./session-log.ts";
import { SideCdp } from "./side-cdp.ts";
import { receiveStagedUpload } from "./uploads.ts";

/** The last flush at exit gets this long; the edge takes late writes for minutes, the task's stop timeout is shorter. */
const FINAL_FLUSH_MS = 15_000;

/** A session's folder with its downloads and uploads folders: a warm node makes it before any session. */
export async function makeSessionFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wc-session-"));
  await Promise.all([mkdir(join(dir, "downloads")), mkdir(join(dir, "uploads"))]);
  return dir;
}

export class SessionArtifacts {
  private workDir = "";
  private downloads: Downloads | undefined;
  private recorder: Recorder | undefined;
  private cdp: SideCdp | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly sessionLog: SessionLog | undefined;
  private readonly shippers: Array<BatchShipper<unknown>> = [];
  /** The unpacked extension, once `prepare` fetched it. */
  extensionDir: string | undefined;

  constructor(
    private readonly settings: BrowserSettings,
    private readonly edge: EdgeArtifacts,
  ) {
    if (settings.logSession !== false) {
      const sessionLog = (this.sessionLog = new SessionLog(() => void shipper.flush()));
      // Entries are held as their JSON (serialized once, when recorded): a batch is joined, not re-serialized.
      const shipper = new BatchShipper<string>("logs", edge, sessionLog, (entries) => `{"entries":[${entries.join(",")}]}`);
      this.shippers.push(shipper as BatchShipper<unknown>);
    }
  }

  get uploadsDir() {
    return join(this.workDir, "uploads");
  }

  /**
   * The session's folder (made while the node was warm, or now), and the extension fetched and
   * unpacked (before Chromium starts).
   */
  async prepare(made?: string) {
    this.workDir = made ?? (await makeSessionFolder());
    if (this.settings.extensionId) this.extensionDir = await fetchExtension(this.edge, this.workDir, this.settings.extensionId);
  }

  /** Unpacks the context's saved profile into Chromium's fresh user-data dir. */
  async seedProfile(profileDir: string) {
    const context = this.settings.context;
    if (!context) return;
    const restored = await restoreProfile(this.edge, this.workDir, profileDir);
    log("context-profile", { contextId: context.id, restored, persist: context.persist === true });
  }

  /**
   * Once Chromium runs: downloads into the folder and the flush timer, over `warm`'s open
   * connection or a new one. A warm browser's recorder is in place already (it is taken off when
   * the session records nothing); otherwise the recorder waits for `sessionReady`.
   */
  async attach(browser: { debugPort: number; browserPath: string }, warm?: { cdp: SideCdp; recorder: Recorder }) {
    const cdp = (this.cdp = warm?.cdp ?? (await SideCdp.connect(browser.debugPort, browser.browserPath)));
    const downloads = (this.downloads = new Downloads(join(this.workDir, "downloads"), this.workDir, this.edge));
    const recording = this.settings.recordSession !== false;
    // At once: each is a round trip on the connection, and the session waits for them.
    await Promise.all([cdp.send("Target.setDiscoverTargets", { discover: true }), downloads.attach(cdp), recording ? undefined : warm?.recorder.remove()]);
    if (recording) {
      const recorder = (this.recorder = warm?.recorder ?? new Recorder(cdp));
      this.shippers.push(
        new BatchShipper<RecordingEvent>("recording", this.edge, recorder, (events) => JSON.stringify({ events } satisfies RecordingBatch), (why) =>
          recorder.stop(why),
        ) as BatchShipper<unknown>,
      );
    }
    this.timer = setInterval(() => void this.flush(), ARTIFACT_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** The node is ready: a launched browser's recorder attaches now (recorder.ts says why not sooner); a warm one's did. */
  sessionReady() {
    this.recorder?.attach().catch((err: unknown) => log("recording-failed", { problem: err instanceof Error ? err.message : String(err) }, "warn"));
  }

  /** A relay's or a channel's logging tap; undefined when `logSession` is false, so it does no extra work. */
  tap(path: string): RelayTap | undefined {
    return this.sessionLog?.tap(path);
  }

  /** The edge's `upload` call: fetches the file it staged into the uploads folder. */
  async upload(name: string): Promise<NodeUploadReply> {
    // Before the folder exists (the edge sends uploads only to RUNNING sessions, so never in practice).
    if (!this.workDir) throw new NodeError("error", "the session is starting", { status: 503 });
    return receiveStagedUpload(this.edge, this.uploadsDir, name);
  }

  /** The edge's `flush-downloads` call: resolves once the edge took the zip (at once if nothing changed). */
  flushDownloads(): Promise<void> {
    return this.downloads?.flush() ?? Promise.resolve();
  }

  private async flush() {
    const results = await Promise.allSettled([this.downloads?.flush(), ...this.shippers.map((s) => s.flush())]);
    for (const r of results) {
      if (r.status === "rejected") log("artifact-flush-failed", { problem: r.reason instanceof Error ? r.reason.message : String(r.reason) }, "warn");
    }
  }

  /** After Chromium stopped, before its profile is removed: saves it when the context persists. */
  async beforeProfileRemoved(profileDir: string) {
    const context = this.settings.context;
    if (context?.persist === true && this.workDir) await saveProfile(this.edge, this.workDir, profileDir, context.id);
  }

  /** The last flush (every command still unanswered is logged as it stands), then the folder goes. */
  async finish() {
    clearInterval(this.timer);
    this.cdp?.close();
    this.sessionLog?.closeAll();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), FINAL_FLUSH_MS)));
    const outcome = await Promise.race([this.flush().then(() => "done" as const), late]);
    clearTimeout(timer);
    if (outcome === "late") log("artifact-final-flush-late", { afterMs: FINAL_FLUSH_MS }, "warn");
    if (this.workDir) await rm(this.workDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  }
}
