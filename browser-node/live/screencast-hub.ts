/**
 * The live view's node side (docs/live-view.md): one hub per session fans each page's screencast
 * out to every viewer watching that page, and turns viewers' input into CDP input on it.
 *
 * Cheap when nobody watches: the hub holds no CDP connection while it has no viewer, and a page
 * is screencast only while someone watches it (one CDP session per watched page, however many
 * viewers). A viewer gets a frame only when it has acknowledged all but MAX_IN_FLIGHT of the ones
 * before and its socket has little unwritten; otherwise the frame waits in a single slot that the
 * next frame overwrites: frames a slow viewer cannot take are dropped, never queued.
 */
import WebSocket from "ws";
import type { CloseReason } from "../../edge/node-protocol.ts";
import type { CdpClient } from "../proxy/clients.ts";
import type { Upstream } from "../proxy/context.ts";
import { SideCdp } from "../artifacts/side-cdp.ts";
import { WINDOW_UI_HEIGHT } from "../chromium/flags.ts";
import { log } from "../log.ts";
import { inputCommand, type LiveTab, type ViewerMessage } from "./viewer-input.ts";

type WindowBounds = { width: number; height: number; windowState: string };

/** Frames sent to one viewer and not acknowledged yet; two keeps one in flight while one is drawn. */
const MAX_IN_FLIGHT = 2;
/** Bytes written to a viewer's socket and not yet sent; past it frames wait (and get replaced). */
const MAX_UNWRITTEN = 1024 * 1024;
const SCREENCAST = { format: "jpeg", quality: 70, maxWidth: 1920, maxHeight: 1920, everyNthFrame: 1 } as const;

export interface ViewerOptions {
  readOnly: boolean;
  /** The page to watch first (a CDP target id); the newest page when absent or unknown. */
  page?: string;
}

interface Frame {
  page: string;
  data: string;
  width: number;
  height: number;
}

/** A page being screencast for its viewers. */
interface Watch {
  target: string;
  session?: string;
  /** Settles once the screencast started (or failed to). */
  started?: Promise<void>;
  viewers: Set<Viewer>;
  last?: Frame;
}

export class Viewer implements CdpClient {
  page: string | undefined;
  inFlight = 0;
  /** The newest frame it could not take yet; a newer one replaces it. */
  waiting: Frame | undefined;
  sent = 0;
  dropped = 0;
  private seq = 0;
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    readonly socket: WebSocket,
    readonly readOnly: boolean,
  ) {
    socket.once("close", () => this.resolveClosed());
    if (socket.readyState === WebSocket.CLOSED) this.resolveClosed();
  }

  close(why: CloseReason): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(why.code, why.reason);
    const timer = setTimeout(() => this.socket.terminate(), 1000);
    timer.unref();
    return this.closed;
  }

  send(message: object) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Sends `frame` now if the viewer can take it, else holds it in the one waiting slot. */
  offer(frame: Frame) {
    if (this.inFlight >= MAX_IN_FLIGHT || this.socket.bufferedAmount > MAX_UNWRITTEN) {
      if (this.waiting) this.dropped++;
      this.waiting = frame;
      return;
    }
    this.waiting = undefined;
    this.inFlight++;
    this.sent++;
    this.send({ t: "frame", seq: ++this.seq, ...frame });
  }

  acked() {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.waiting) this.offer(this.waiting);
  }
}

/** Page.startScreencast is tried this many times, this far apart, on a page that is not ready for it yet. */
const START_ATTEMPTS = 20;
const START_RETRY_MS = 250;

export class ScreencastHub {
  private cdp: Promise<SideCdp> | undefined;
  private readonly viewers = new Set<Viewer>();
  private readonly watches = new Map<string, Watch>();
  /** The browser's pages, oldest first (Map order). */
  private readonly tabs = new Map<string, LiveTab>();
  /** How many screencasts were ever started (for tests and the benchmark). */
  screencastsStarted = 0;

  constructor(private readonly browser: () => Upstream | undefined) {}

  /** Screencasts running now. */
  get screencasts() {
    return [...this.watches.values()].filter((w) => w.session).length;
  }

  get connected() {
    return this.cdp !== undefined;
  }

  /** Attaches a viewer's socket; it leaves when the socket closes. */
  add(socket: WebSocket, options: ViewerOptions): Viewer {
    const viewer = new Viewer(socket, options.readOnly);
    this.viewers.add(viewer);
    // One message at a time, in order: a click's press must reach the page before its release.
    let inOrder = Promise.resolve();
    socket.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = String(data);
      if (text.startsWith('{"t":"ack"')) return viewer.acked(); // not behind slow input
      inOrder = inOrder.then(() => this.received(viewer, text)).catch(() => {});
    });
    void viewer.closed.then(() => this.leave(viewer));
    viewer.send({ t: "hello", readOnly: options.readOnly });
    void this.connect()
      .then(() => {
        if (!this.viewers.has(viewer)) return;
        this.sendTabs(viewer);
        return this.watch(viewer, options.page && this.tabs.has(options.page) ? options.page : this.newest());
      })
      .catch((err: unknown) => {
        log("live-view-failed", { error: err instanceof Error ? err.message : String(err) }, "warn");
        void viewer.close({ code: 1011, reason: "browser node error" });
      });
    return viewer;
  }

  /** The hub's own CDP connection, opened for the first viewer; it learns the pages as they come and go. */
  private connect(): Promise<SideCdp> {
    if (this.cdp) return this.cdp;
    const upstream = this.browser();
    if (!upstream) return Promise.reject(new Error("the browser is not running"));
    const opening = (this.cdp = SideCdp.connect(upstream.debugPort, upstream.browserPath).then(async (cdp) => {
      cdp.on((method, params, session) => this.event(method, params, session));
      void cdp.closed.then(() => this.disconnected(opening));
      await cdp.send("Target.setDiscoverTargets", { discover: true });
      return cdp;
    }));
    opening.catch(() => this.disconnected(opening));
    return opening;
  }

  private disconnected(which: Promise<SideCdp>) {
    if (this.cdp !== which) return;
    this.cdp = undefined;
    this.watches.clear();
    this.tabs.clear();
    // Chromium went (the session is ending, or it crashed): the session closes viewers with its reason.
  }

  private event(method: string, params: any, session: string | undefined) {
    if (method === "Page.screencastFrame" && session) return this.frame(session, params);
    if (method === "Target.targetCreated" || method === "Target.targetInfoChanged") {
      const info = params.targetInfo;
      if (info?.type !== "page" || String(info.url).startsWith("devtools://")) return;
      const isNew = !this.tabs.has(info.targetId);
      this.tabs.set(info.targetId, { id: info.targetId, url: info.url, title: info.title });
      // A new tab takes the viewers along, as it takes a person's window.
      if (isNew && method === "Target.targetCreated") for (const viewer of this.viewers) void this.watch(viewer, info.targetId);
      this.broadcastTabs();
    } else if (method === "Target.targetDestroyed" && this.tabs.delete(params.targetId)) {
      const orphans = [...(this.watches.get(params.targetId)?.viewers ?? [])];
      this.watches.delete(params.targetId);
      for (const viewer of orphans) void this.watch(viewer, this.newest());
      this.broadcastTabs();
    }
  }

  private frame(session: string, params: any) {
    void this.cdp?.then((cdp) => cdp.send("Page.screencastFrameAck", { sessionId: params.sessionId }, session)).catch(() => {});
    const watch = [...this.watches.values()].find((w) => w.session === session);
    if (!watch) return;
    const m = params.metadata ?? {};
    watch.last = { page: watch.target, data: params.data, width: m.deviceWidth, height: m.deviceHeight };
    for (const viewer of watch.viewers) viewer.offer(watch.last);
  }

  private newest(): string | undefined {
    return [...this.tabs.keys()].at(-1);
  }

  /** Moves `viewer` to `target`'s screencast, starting it if nobody watched that page yet. */
  private async watch(viewer: Viewer, target: string | undefined) {
    if (viewer.page === target) return;
    this.unwatch(viewer);
    viewer.page = target;
    this.sendTabs(viewer);
    if (!target || !this.viewers.has(viewer)) return;
    let watch = this.watches.get(target);
    if (!watch) {
      watch = { target, viewers: new Set() };
      this.watches.set(target, watch);
      watch.started = this.start(watch);
    }
    watch.viewers.add(viewer);
    viewer.waiting = undefined;
    if (watch.last) viewer.offer(watch.last); // a screencast sends frames only when the page paints
  }

  private async start(watch: Watch) {
    try {
      const cdp = await this.connect();
      const { sessionId } = await cdp.send<{ sessionId: string }>("Target.attachToTarget", { targetId: watch.target, flatten: true });
      if (this.watches.get(watch.target) !== watch) return void cdp.send("Target.detachFromTarget", { sessionId }).catch(() => {});
      watch.session = sessionId;
      this.screencastsStarted++;
      // A page in the middle of a navigation (its frame being swapped) answers "Not attached to
      // an active page" for a moment: try again while someone still watches it.
      for (let attempt = 1; ; attempt++) {
        try {
          await cdp.send("Page.startScreencast", SCREENCAST, sessionId);
          return;
        } catch (err) {
          if (attempt >= START_ATTEMPTS || this.watches.get(watch.target) !== watch) throw err;
          await new Promise((resolve) => setTimeout(resolve, START_RETRY_MS));
        }
      }
    } catch (err) {
      log("live-view-screencast-failed", { error: err instanceof Error ? err.message : String(err) }, "warn");
    }
  }

  private unwatch(viewer: Viewer) {
    const watch = viewer.page === undefined ? undefined : this.watches.get(viewer.page);
    if (!watch) return;
    watch.viewers.delete(viewer);
    if (watch.viewers.size > 0) return;
    this.watches.delete(watch.target);
    const session = watch.session;
    if (session) void this.cdp?.then((cdp) => cdp.send("Target.detachFromTarget", { sessionId: session })).catch(() => {}); // stops its screencast
  }

  private leave(viewer: Viewer) {
    this.unwatch(viewer);
    viewer.page = undefined;
    this.viewers.delete(viewer);
    if (this.viewers.size > 0 || !this.cdp) return;
    // The last viewer left: no screencast, no connection.
    const closing = this.cdp;
    this.cdp = undefined;
    this.watches.clear();
    this.tabs.clear();
    void closing.then((cdp) => cdp.close()).catch(() => {});
  }

  private tabsMessage(viewer: Viewer) {
    return { t: "tabs", tabs: [...this.tabs.values()], active: viewer.page ?? null };
  }

  private sendTabs(viewer: Viewer) {
    viewer.send(this.tabsMessage(viewer));
  }

  private broadcastTabs() {
    for (const viewer of this.viewers) this.sendTabs(viewer);
  }

  /**
   * Gives the page `bounds` (its CSS size) by sizing its window: that plus the browser's own bar
   * above the page, as this window has it (it differs between a tab, a popup and a first tab).
   */
  private async sizePage(cdp: SideCdp, session: string, targetId: string, bounds: WindowBounds) {
    try {
      const [window, { result }] = await Promise.all([
        cdp.send<{ windowId: number; bounds: { height?: number } }>("Browser.getWindowForTarget", { targetId }),
        cdp.send<{ result: { value?: unknown } }>("Runtime.evaluate", { expression: "innerHeight", returnByValue: true }, session),
      ]);
      // The bar as this window has it now (measured: not always the page's outerHeight - innerHeight).
      const measured = typeof result.value === "number" && window.bounds.height !== undefined ? window.bounds.height - result.value : undefined;
      const bar = measured !== undefined && measured >= 0 && measured < 400 ? measured : WINDOW_UI_HEIGHT;
      await cdp.send("Browser.setWindowBounds", { windowId: window.windowId, bounds: { ...bounds, height: bounds.height + bar } });
    } catch (err) {
      log("live-resize-failed", { problem: err instanceof Error ? err.message : String(err) }, "warn");
    }
  }

  private async received(viewer: Viewer, text: string) {
    let message: ViewerMessage;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null) return;
    if (message.t === "ack") return viewer.acked();
    if (message.t === "select" && typeof message.id === "string" && this.tabs.has(message.id)) {
      await this.watch(viewer, message.id);
      if (!viewer.readOnly) await this.cdp?.then((cdp) => cdp.send("Target.activateTarget", { targetId: message.id })).catch(() => {});
      return;
    }
    // Everything else is input: a read-only viewer's is dropped here, whatever its page allowed.
    if (viewer.readOnly || !viewer.page) return;
    // Input that comes while the page's screencast is being set up waits for it (not dropped).
    const watch = this.watches.get(viewer.page);
    await watch?.started;
    const session = watch?.session;
    const command = inputCommand(message, viewer.page);
    if (!session || !command || !this.cdp) return;
    const cdp = await this.cdp;
    for (const [method, params] of command) {
      if (method === "Browser.setWindowBoundsOfTarget") await this.sizePage(cdp, session, params.targetId as string, params.bounds as WindowBounds);
      else await cdp.send(method, params, session);
    }
  }
}
