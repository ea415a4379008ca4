/**
 * One session's node, from its assignment to its end: the link to the edge, Chromium (the warm
 * one, given the session's settings live, or one launched for it), the proxy (direct mode only),
 * readiness, the timers, the edge's calls, and the single way out (`end`), which every ending
 * takes: close clients with the reason's close frame, stop Chromium, ship the artifacts, report
 * `exit` over the link, and hand back the process exit code.
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { DEFAULT_VIEWPORT } from "../../edge/browser-settings.ts";
import { CloseCode, type ExitReason, type NodeToEdge } from "../../edge/node-protocol.ts";
import { sleep } from "../../edge/retries.ts";
import { createEdgeArtifacts, type EdgeArtifacts } from "../artifacts/edge-artifacts.ts";
import { SessionArtifacts } from "../artifacts/session-artifacts.ts";
import { createTokenVerifier } from "../auth.ts";
import { launchBrowser, type BrowserProcess, type EarlyLaunch } from "../chromium/browser-process.ts";
import { WINDOW_UI_HEIGHT } from "../chromium/flags.ts";
import { keepViewport, loadExtension } from "../chromium/live-settings.ts";
import type { Settled } from "../chromium/settle.ts";
import type { Recorder } from "../artifacts/recorder.ts";
import type { SideCdp } from "../artifacts/side-cdp.ts";
import type { NodeConfig } from "../config.ts";
import { handleCall, type CallContext } from "../link/calls.ts";
import { EdgeLink } from "../link/edge-link.ts";
import { log } from "../log.ts";
import { NodeError } from "../node-error.ts";
import type { Egress } from "../egress/egress.ts";
import { applyCertificatePolicy, egressSettings, reportUsage } from "../egress/session-egress.ts";
import { ClientRegistry } from "../proxy/clients.ts";
import type { ProxyContext } from "../proxy/context.ts";
import type { CloseReason } from "../../edge/node-protocol.ts";
import { createProxyServer, listen } from "../proxy/server.ts";
import { ScreencastHub } from "../live/screencast-hub.ts";
import { probeChromium, probeThroughProxy, probeWarm } from "../readiness.ts";
import { armSessionTimers } from "./timers.ts";

const CLOSE_FOR: Record<ExitReason, CloseReason> = {
  released: CloseCode.released,
  terminated: CloseCode.released,
  "timed-out": CloseCode.timedOut,
  idle: CloseCode.idle,
  "never-connected": CloseCode.idle,
  "browser-crashed": CloseCode.browserCrashed,
  "not-ready": CloseCode.nodeError,
  error: CloseCode.nodeError,
};

const CLEAN_ENDINGS = new Set<ExitReason>(["released", "terminated", "timed-out", "idle", "never-connected"]);
export const exitCodeFor = (reason: ExitReason) => (CLEAN_ENDINGS.has(reason) ? 0 : 1);

/** How long clients get to take their close frames before the browser goes. */
const CLIENT_CLOSE_MS = 1500;

/** A pool member's browser, launched with the defaults and settled before any session (main.ts). */
export interface WarmBrowser {
  browser: BrowserProcess;
  settled: Settled;
  /** The connection it settled over, still open: the session's artifacts take it over. */
  cdp: SideCdp;
  /** The session recorder, attached over `cdp` while warm (artifacts/recorder.ts). */
  recorder: Recorder;
  /** The session folder, made while warm (artifacts/session-artifacts.ts). */
  sessionFolder: string;
}

export interface SessionStart {
  /** A warm member's browser: the session's settings are applied to it live. */
  warm?: WarmBrowser;
  /** A reserved member's launch with the session's settings, started before this module loaded. */
  early?: EarlyLaunch;
  /** performance.now() at the assignment: the connect deadline counts from it. */
  assignedAt: number;
  /** The session link's first `welcome` came (the pool link closes with `assigned`). */
  linked?: () => void;
  /** Sends `ready` over the pool link while it is open (false when it is not): the create need not wait for the session link. */
  readyAhead?: (ready: Extract<NodeToEdge, { t: "ready" }>) => boolean;
}

export class Session {
  readonly clients: ClientRegistry;
  /** The live view's screencasts (live/): nothing runs until a viewer connects. */
  private readonly live = new ScreencastHub(() => this.runningBrowser());
  private browser: BrowserProcess | undefined;
  private server: Server | undefined;
  /** Set while Chromium starts, so an ending that comes meanwhile still stops it. */
  private launching: Promise<BrowserProcess> | undefined;
  private readonly launchAbort: AbortController;
  private port = 0;
  private ending: Promise<number> | undefined;
  private disarmTimers = () => {};
  private settle!: (code: number) => void;
  private readonly artifacts: SessionArtifacts;
  private readonly link: EdgeLink;
  private readonly edgeArtifacts: EdgeArtifacts;
  private usageReports: { stop(): { proxyBytes: number } } | undefined;
  private certificatePolicy: { close(): void } | undefined;
  private viewportKeeper: { close(): void } | undefined;
  private warm: WarmBrowser | undefined;
  private readonly assignedAt: number;
  private readonly readyAhead: SessionStart["readyAhead"];
  /** When the session link first opened (performance.now()), for the `ready` log. */
  private linkedAt?: number;
  /** Resolves with the process exit code once the session has ended, however it ended. */
  readonly ended = new Promise<number>((resolve) => (this.settle = resolve));

  /** @param egress the node's egress proxy, started before Chromium (whose flags name its port). */
  constructor(
    private readonly config: NodeConfig,
    private readonly egress: Egress,
    start: SessionStart,
  ) {
    const { early, warm } = start;
    this.warm = warm;
    this.assignedAt = start.assignedAt;
    this.readyAhead = start.readyAhead;
    this.launching = early?.browser;
    this.launchAbort = early?.abort ?? new AbortController();
    this.clients = new ClientRegistry(config.expiresAt.getTime());
    // Artifact requests and usage reports carry the node token the link's `welcome` brought.
    this.edgeArtifacts = createEdgeArtifacts({ edgeUrl: config.edgeUrl, sessionId: config.sessionId, nodeToken: () => this.link.nodeToken() });
    const calls: CallContext = {
      sessionId: config.sessionId,
      edgeSocketUrl: config.edgeSocketUrl,
      browser: () => this.runningBrowser(),
      accepting: () => this.ending === undefined,
      nodeToken: () => this.link.nodeToken(),
      upstreamLost: () => this.upstreamLost(),
      clients: this.clients,
      live: this.live,
      artifacts: this.artifacts = new SessionArtifacts(config.browserSettings, this.edgeArtifacts),
    };
    this.link = new EdgeLink(config, {
      call: (call) => handleCall(calls, call),
      end: (reason, detail) => void this.end(reason, detail ?? "the edge ended the session"),
      lost: (detail) => void this.end("error", detail),
      opened: () => {
        this.linkedAt ??= performance.now();
        start.linked?.();
      },
    });
  }

  private runningBrowser() {
    return this.browser?.isRunning() ? this.browser : undefined;
  }

  /** Starts everything and sends `ready`; throws NodeError("not-ready") past the ready deadline. */
  async start(): Promise<void> {
    const deadline = Date.now() + this.config.readyDeadlineMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NodeError("not-ready", `not ready within ${this.config.readyDeadlineMs} ms`)), this.config.readyDeadlineMs);
    });
    try {
      await Promise.race([this.startParts(deadline), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async startParts(deadline: number) {
    const { config } = this;
    const direct = config.connectMode === "direct";
    // The link first: the node token it brings is what the extension and context are fetched with.
    this.link.start();
    // The session's folder, and its extension before Chromium gets it (a reserved member's session
    // with neither an extension nor a context had Chromium launched by main.ts already:
    // `launching` is set). The session's way out (proxies, allowedDomains, blockAds) is set
    // before any client can navigate; until then the egress proxy refuses everything.
    await Promise.all([this.artifacts.prepare(this.warm?.sessionFolder), this.egress.configure(egressSettings(config.browserSettings, config.proxies))]);
    if (this.ending) return;
    const warm = this.warm;
    if (warm && config.browserSettings.context) {
      // A saved profile cannot be swapped into a running browser: the warm one goes, and one
      // starts on the seeded profile (the Node process, the egress proxy and the links stay up).
      log("browser-relaunch", { why: "context" });
      this.warm = undefined;
      warm.cdp.close();
      await warm.browser.stop();
      if (this.ending) return;
    } else if (warm) {
      this.launching = Promise.resolve(warm.browser);
    }
    this.launching ??= launchBrowser({
      executable: config.chromiumPath,
      settings: config.browserSettings,
      timeoutMs: Math.max(1000, deadline - Date.now()),
      extras: { extensionDir: this.artifacts.extensionDir, egressPort: this.egress.port, offline: config.egress.offline },
      seedProfile: (dir) => this.artifacts.seedProfile(dir),
      signal: this.launchAbort.signal,
    });
    // Direct mode: the proxy gets ready while Chromium starts. Edge mode listens on no port at all.
    const readinessSecret = randomBytes(32).toString("hex");
    if (direct) await this.listen(readinessSecret);
    const browser = (this.browser = await this.launching);
    void browser.exited.then(({ code, signal }) => {
      if (!this.ending) void this.end("browser-crashed", `Chromium exited (code ${code}, signal ${signal})`);
    });
    const launched = performance.now();
    // A warm browser was logged when it started (main.ts); a launched one is logged here.
    if (!this.warm) log("browser-started", { pid: browser.pid, debugPort: browser.debugPort, profileDir: browser.profileDir });
    // Downloads must be in place before any client; the probe does not need them, so both go at
    // once (each is a few CDP round trips on a cold browser).
    const [browserVersion] = await Promise.all([
      direct ? probeThroughProxy(this.port, readinessSecret, deadline) : this.warm ? probeWarm(this.warm.cdp) : probeChromium(browser, deadline),
      this.artifacts.attach(browser, this.warm),
      applyCertificatePolicy(browser, config.browserSettings).then((held) => (this.certificatePolicy = held)),
      this.warm ? this.applyLive(this.warm) : undefined,
    ]);
    if (this.ending) return;
    const probed = performance.now();
    const ready = { t: "ready", browserVersion, ...(direct ? { direct: { host: config.advertiseHost, port: this.port } } : {}) } as const;
    // A warm member is usually still dialing its session link here: `ready` goes ahead over the
    // pool link, already open, and the create answers without waiting for the dial (docs/pool.md).
    // The session link carries it too (a repeated `ready` changes nothing); clients and calls come
    // only over that link, so nothing below (the recorder, the timers) can be late for them.
    const ahead = !this.link.open && this.readyAhead?.(ready) === true;
    await this.link.ready(ready, deadline);
    if (this.ending) return;
    this.artifacts.sessionReady(); // the recorder, which must not slow the start (recorder.ts)
    log("ready", {
      connectMode: config.connectMode,
      port: direct ? this.port : undefined,
      host: config.advertiseHost,
      browserVersion,
      warm: this.warm !== undefined,
      // Whether `ready` went ahead over the pool link.
      readyAhead: ahead,
      // Milliseconds since the process started: Chromium listening, the probe done, the edge told; and since the assignment.
      ms: {
        browser: Math.round(launched),
        probed: Math.round(probed),
        reported: Math.round(performance.now()),
        sinceAssigned: Math.round(performance.now() - this.assignedAt),
        linkedSinceAssigned: this.linkedAt === undefined ? undefined : Math.round(this.linkedAt - this.assignedAt),
        probedSinceAssigned: Math.round(probed - this.assignedAt),
      },
    });

    this.usageReports = reportUsage(this.egress, this.edgeArtifacts);
    // The connect deadline counts from the assignment, not from `ready`.
    const connectDeadlineMs = Math.max(0, config.connectDeadlineMs - (performance.now() - this.assignedAt));
    this.disarmTimers = armSessionTimers({ ...config, connectDeadlineMs, clients: this.clients, end: (reason) => void this.end(reason) });
  }

  /**
   * The session's settings a warm browser did not launch with (chromium/live-settings.ts): the
   * viewport (only when it differs from the launch's window), the extension.
   */
  private async applyLive({ browser, settled }: WarmBrowser) {
    const viewport = this.config.browserSettings.viewport ?? DEFAULT_VIEWPORT;
    const launchedRight = viewport.width === DEFAULT_VIEWPORT.width && viewport.height === DEFAULT_VIEWPORT.height && settled.uiHeight === WINDOW_UI_HEIGHT;
    const extensionDir = this.artifacts.extensionDir;
    await Promise.all([
      launchedRight ? undefined : keepViewport(browser, viewport, settled.uiHeight).then((keeper) => (this.viewportKeeper = keeper)),
      extensionDir
        ? loadExtension(browser, extensionDir).then((id) => log("extension-loaded", { extensionId: this.config.browserSettings.extensionId, chromiumId: id }))
        : undefined,
    ]);
  }

  /** Direct mode's JWT-checked proxy, for clients that come straight to the node. */
  private async listen(readinessSecret: string) {
    const { config } = this;
    const ctx: ProxyContext = {
      verifier: createTokenVerifier(config),
      readinessSecret,
      browser: () => this.runningBrowser(),
      accepting: () => this.ending === undefined,
      upstreamLost: () => this.upstreamLost(),
      clients: this.clients,
      live: this.live,
      fallbackHost: () => `${config.advertiseHost ?? "127.0.0.1"}:${this.port}`,
      artifacts: this.artifacts,
    };
    this.server = createProxyServer(ctx);
    // Locally the node advertises loopback and need not listen anywhere else; in a task it must.
    const bindHost = config.advertiseHost && /^(127\.|localhost$|::1$)/.test(config.advertiseHost) ? "127.0.0.1" : "0.0.0.0";
    this.port = await listen(this.server, config.proxyPort, bindHost);
  }

  /** A client's Chromium socket dropped without a close frame: a crash if the browser is dying. */
  private async upstreamLost(): Promise<CloseReason> {
    const browser = this.browser;
    if (!browser) return CloseCode.nodeError;
    const dead = await Promise.race([browser.exited.then(() => true), sleep(500).then(() => false)]);
    return dead ? CloseCode.browserCrashed : CloseCode.nodeError;
  }

  /** Ends the session once, whatever asks first; resolves to the process exit code. */
  end(reason: ExitReason, detail?: string): Promise<number> {
    if (!this.ending) {
      this.ending = this.shutdown(reason, detail);
      void this.ending.then(this.settle);
    }
    return this.ending;
  }

  private async shutdown(reason: ExitReason, detail?: string): Promise<number> {
    log("session-ending", { reason, detail, clients: this.clients.count });
    this.disarmTimers();
    this.server?.close();
    await Promise.race([this.clients.closeAll(CLOSE_FOR[reason]), sleep(CLIENT_CLOSE_MS)]);
    this.server?.closeAllConnections();
    this.launchAbort.abort(); // a Chromium still starting (or hung before listening) is stopped, not awaited
    const browser = this.browser ?? (await this.launching?.catch(() => undefined)) ?? this.warm?.browser;
    this.viewportKeeper?.close();
    // Artifacts land before `exit` is reported: the context's profile once Chromium has stopped
    // cleanly (before its profile is removed), then the last downloads, log and recording.
    await browser?.stop((profileDir) => this.artifacts.beforeProfileRemoved(profileDir));
    await this.artifacts.finish();
    this.certificatePolicy?.close();
    const { proxyBytes } = this.usageReports?.stop() ?? this.egress.usage();
    await this.egress.stop();
    const reported = await this.link.exit({ reason, detail: detail?.slice(0, 2000), proxyBytes });
    await this.link.close();
    const code = exitCodeFor(reason);
    log("exit", { reason, detail, code, reported }, code === 0 ? "info" : "error");
    return code;
  }
}
