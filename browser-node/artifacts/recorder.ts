/**
 * The session recording: rrweb's `record()` runs in every page's top frame and streams its events
 * back over a CDP binding on the node's own connection (side-cdp.ts), so clients see nothing of
 * it. It runs in an isolated world (the page's own scripts cannot see or call it; the DOM is
 * shared), is installed on every new document before the page's scripts run (`Target.setAutoAttach`
 * with `waitForDebuggerOnStart`, then `Page.addScriptToEvaluateOnNewDocument`), and on documents
 * already loaded (`runImmediately`). A warm member attaches it before any session (main.ts), so a
 * create pays nothing for it, and `remove`s it for a session with `recordSession: false`; a member
 * launched for its session attaches it once the node is ready (session-artifacts.ts): instrumenting
 * the first page while Chromium is still starting would lengthen every cold create, and until
 * `ready` no client can be on any page. The first page is recorded from its current document on,
 * once something is put in it (recorderScript). The node's session
 * enables Page and Runtime on each page (without them the script and the binding stay silent);
 * Runtime also brings the page's console traffic to the node and is what bot detectors probe for,
 * so a session that must look untouched sets `recordSession: false`.
 *
 * What is recorded is what rrweb records by default: a full DOM snapshot (type 2) and a meta
 * event (type 4, URL and viewport) per document, then incremental events (type 3: DOM mutations,
 * mouse moves and clicks, scrolls, viewport resizes, input values). Password inputs are masked
 * (rrweb's default); canvas, fonts and cross-origin iframes are not captured. Each event carries
 * `pageId`, the page's CDP target id.
 */
import { existsSync, readFileSync } from "node:fs";
import { ArtifactLimits, type RecordingEvent } from "../../edge/node-protocol.ts";
import { log } from "../log.ts";
import { HeldItems, type BatchSource } from "./batch-shipper.ts";
import type { SideCdp } from "./side-cdp.ts";

/**
 * rrweb's `record()` bundled alone, with a fix (build.mjs): beside the node's bundle in the image,
 * where build.mjs writes it when running from source (the platform and the tests build first).
 */
const RRWEB_CANDIDATES = [new URL("./rrweb-record.js", import.meta.url), new URL("../../dist/browser-node/rrweb-record.js", import.meta.url)];

const BINDING = "__wallcrawlerRecord";
const WORLD = "wallcrawler-recorder";
/** Events held between flushes; past that new ones are dropped (an old full snapshot is worth more). */
const MAX_HELD_EVENTS = 5_000;
const MAX_HELD_BYTES = 32 * 1024 * 1024;
/** One event's JSON must fit a batch. */
const MAX_EVENT_BYTES = ArtifactLimits.batchBytes - 128 * 1024;

function rrwebSource(): string {
  const found = RRWEB_CANDIDATES.find((file) => existsSync(file));
  if (!found) throw new Error("rrweb-record.js is missing: run `npm run build:node`");
  return readFileSync(found, "utf8");
}

/** The script, made once per process (reading and quoting 194 KB took ~2 ms of each session). */
let script: string | undefined;

/**
 * The documents recorded: web pages and the blank and data pages clients open. Never Chromium's
 * own: its network error page (chrome-error://chromewebdata, still showing the failed URL) may not
 * hold an about:blank frame, and rrweb appends one at its start when it doubts the page's
 * prototypes (a hidden iframe it takes clean ones from: before build.mjs's fix, in every page), so
 * the browser killed the tab's renderer for a bad IPC message ("Blocked URL about:blank") and the
 * client's next navigation met "Page crashed" (measured, Chromium 156).
 */
const RECORDED_PROTOCOLS = ["http:", "https:", "about:", "data:", "blob:", "file:"];

/**
 * The script each document gets: rrweb kept private to this function, started in top frames only.
 * A blank document (every page at `ready`, every new tab) starts it only once something changes
 * in it (a client's setContent or write): rrweb's start took the renderer ~45 ms (~8 ms since
 * build.mjs's fix), and done at `ready` it met the client's connect (measured then: warm
 * connectOverCDP p50 85 ms, 39 ms without). rrweb comes as a string, compiled only when it starts:
 * as code, every document (the blank ones too) parsed its 194 KB at once, ~15 ms of the first
 * page's renderer at the attach (connectOverCDP p50 53 ms recorded, 46 as a string, 37 not
 * recorded). Compiling it in the recorder's world is allowed where the page's CSP forbids eval
 * and requires Trusted Types (measured: those apply to the page's own world only).
 */
function recorderScript(): string {
  return (script ??= `(function () {
  if (window.top !== window || window.__wallcrawlerRecording) return;
  if (${JSON.stringify(RECORDED_PROTOCOLS)}.indexOf(location.protocol) < 0) return;
  window.__wallcrawlerRecording = "armed";
  var source = ${JSON.stringify(rrwebSource())};
  function start() {
    if (window.__wallcrawlerRecording !== "armed") return;
    window.__wallcrawlerRecording = "started";
    var module = { exports: {} };
    new Function("exports", "module", "define", source)(module.exports, module, undefined);
    var send = window.${BINDING};
    module.exports.record({ emit: function (event) { try { send(JSON.stringify(event)); } catch (e) {} } });
  }
  if (location.href !== "about:blank") return start();
  var observer = new MutationObserver(function () {
    observer.disconnect();
    start();
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
})();`);
}

/** What `remove` runs in a document the script already armed: it then never starts. */
const DISARM = `if (window.__wallcrawlerRecording === "armed") window.__wallcrawlerRecording = "removed";`;

export class Recorder implements BatchSource<RecordingEvent> {
  private readonly held = new HeldItems<RecordingEvent>();
  private dropped = 0;
  private stopped = false;
  /** Page sessions by CDP session id: their target id, and the recorder's world once it exists. */
  private readonly targets = new Map<string, { pageId: string; world?: number }>();
  /** Until `attach` resolves: each open page's script in place (the first page's armed). */
  private installs: Array<Promise<unknown>> | undefined = [];
  private attaching: Promise<void> | undefined;

  constructor(private readonly cdp: SideCdp) {}

  /**
   * Resolves once every page open now has the script (a warm member is then quiet). Once only: a
   * warm member's recorder is attached already when its session is ready.
   */
  attach(): Promise<void> {
    return (this.attaching ??= this.attachOnce());
  }

  private async attachOnce() {
    recorderScript(); // here: a missing rrweb-record.js fails the attach, not an event handler
    this.cdp.on((method, params, sessionId) => {
      if (method === "Target.attachedToTarget") this.attached(params);
      else if (method === "Target.detachedFromTarget") this.targets.delete(params.sessionId);
      else if (method === "Runtime.bindingCalled" && params.name === BINDING && sessionId) this.received(sessionId, params.payload);
      else if (method === "Runtime.executionContextCreated" && params.context?.name === WORLD && sessionId) {
        const target = this.targets.get(sessionId);
        if (target) target.world = params.context.id;
      }
    });
    // Pages only: a service worker held at its start by a second debugger and then let go did not
    // run its script (measured with Stagehand's extension), so nothing else is even touched.
    await this.cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: true, flatten: true, filter: [{ type: "page" }] });
    await Promise.all(this.installs ?? []);
    this.installs = undefined;
  }

  /**
   * Undoes a warm member's `attach` for a session with `recordSession: false`, before its clients
   * come: the armed script in each page's current document is disarmed (its world stays, unseen by
   * the page), then auto-attach goes off, which detaches the pages: the script leaves new
   * documents, and the binding, Page and Runtime leave the pages (a session that must look
   * untouched is).
   */
  async remove() {
    this.stopped = true;
    // Disarmed first: once detached, the recorder has no way into the pages' worlds.
    await Promise.all(
      [...this.targets].map(([sessionId, { world }]) =>
        world === undefined ? undefined : this.cdp.send("Runtime.evaluate", { expression: DISARM, contextId: world }, sessionId).catch(() => {}),
      ),
    );
    await this.cdp.send("Target.setAutoAttach", { autoAttach: false, waitForDebuggerOnStart: false, flatten: true });
  }

  /** Stops taking events (the edge's recording is full or closed). */
  stop(why: string) {
    if (this.stopped) return;
    this.stopped = true;
    log("recording-stopped", { why }, "warn");
  }

  private attached(params: { sessionId: string; targetInfo: { targetId: string; type: string }; waitingForDebugger: boolean }) {
    const { sessionId, targetInfo } = params;
    const ignore = () => {};
    if (targetInfo.type === "page" && !this.stopped) {
      this.targets.set(sessionId, { pageId: targetInfo.targetId });
      // Sent back to back without waiting: CDP runs them in order, so the page resumes with the
      // binding and the script in place, and a page never waits on a node round trip per command.
      // Measured: Chromium runs an isolated world's new-document script only with Page enabled,
      // and delivers bindingCalled only with Runtime enabled.
      void this.cdp.send("Page.enable", {}, sessionId).catch(ignore);
      void this.cdp.send("Runtime.enable", {}, sessionId).catch(ignore);
      void this.cdp.send("Runtime.addBinding", { name: BINDING, executionContextName: WORLD }, sessionId).catch(ignore);
      const install = this.cdp.send("Page.addScriptToEvaluateOnNewDocument", { source: recorderScript(), worldName: WORLD, runImmediately: true }, sessionId).catch(ignore);
      this.installs?.push(install);
    }
    const resumed = params.waitingForDebugger ? this.cdp.send("Runtime.runIfWaitingForDebugger", {}, sessionId).catch(ignore) : Promise.resolve();
    if (targetInfo.type !== "page") void resumed.then(() => this.cdp.send("Target.detachFromTarget", { sessionId }).catch(ignore));
  }

  private received(sessionId: string, payload: unknown) {
    if (this.stopped || typeof payload !== "string") return;
    const pageId = this.targets.get(sessionId)?.pageId;
    if (!pageId) return;
    const bytes = Buffer.byteLength(payload) + 64;
    if (bytes > MAX_EVENT_BYTES || this.held.length >= MAX_HELD_EVENTS || this.held.bytes + bytes > MAX_HELD_BYTES) {
      this.dropped++;
      return;
    }
    let parsed: { type?: unknown; timestamp?: unknown; data?: unknown };
    try {
      parsed = JSON.parse(payload);
    } catch {
      return;
    }
    if (typeof parsed.type !== "number" || !Number.isInteger(parsed.type) || typeof parsed.timestamp !== "number") return;
    this.held.push({ type: parsed.type, timestamp: parsed.timestamp, data: parsed.data ?? {}, pageId }, bytes);
  }

  take(maxItems: number, maxBytes: number): RecordingEvent[] {
    if (this.dropped) {
      log("recording-dropped", { events: this.dropped, reason: "more than the node holds between flushes" }, "warn");
      this.dropped = 0;
    }
    return this.held.take(maxItems, maxBytes);
  }

  putBack(events: RecordingEvent[]) {
    this.held.putBack(events, (event) => Buffer.byteLength(JSON.stringify(event)));
  }
}
