/**
 * One session's node, start to end: Chromium, the proxy, readiness, heartbeats, the timers, and
 * the single way out (`end`), which every ending takes: close clients with the reason's close
 * frame, report `exit`, stop Chromium, and hand back the process exit code.
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { CloseCode, type ExitReason } from "../../edge/node-protocol.ts";
import { createEdgeArtifacts } from "../artifacts/edge-artifacts.ts";
import { SessionArtifacts } from "../artifacts/session-artifacts.ts";
import { createTokenVerifier } from "../auth.ts";
import { launchBrowser, type BrowserProcess, type EarlyLaunch } from "../chromium/browser-process.ts";
import type { NodeConfig } from "../config.ts";
import type { EdgeClient } from "../edge-client.ts";
import { log } from "../log.ts";
import { NodeError } from "../node-error.ts";
import type { Egress } from "../egress/egress.ts";
import { applyCertificatePolicy, egressSettings, reportUsage } from "../egress/session-egress.ts";
import { ClientRegistry } from "../proxy/clients.ts";
import type { ProxyContext } from "../proxy/context.ts";
import type { CloseReason } from "../proxy/relay.ts";
import { createProxyServer, listen } from "../proxy/server.ts";
import { probeThroughProxy } from "../readiness.ts";
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

export class Session {
  readonly clients: ClientRegistry;
  private browser: BrowserProcess | undefined;
  private server: Server | undefined;
  /** Set while Chromium starts, so an ending that comes meanwhile still stops it. */
  private launching: Promise<BrowserProcess> | undefined;
  private readonly launchAbort: AbortController;
  private port = 0;
  private ending: Promise<number> | undefined;
  private disarmTimers = () => {};
  private heartbeat: NodeJS.Timeout | undefined;
  private settle!: (code: number) => void;
  private readonly artifacts: SessionArtifacts;
  private usageReports: { stop(): { proxyBytes: number } } | undefined;
  private certificatePolicy: { close(): void } | undefined;
  /** Resolves with the process exit code once the session has ended, however it ended. */
  readonly ended = new Promise<number>((resolve) => (this.settle = resolve));

  /**
   * @param egress the node's egress proxy, started before Chromium (whose flags name its port).
   * @param early a launch main.ts started before this module loaded (see `EarlyLaunch`).
   */
  constructor(
    private readonly config: NodeConfig,
    private readonly edge: EdgeClient,
    private readonly egress: Egress,
    early?: EarlyLaunch,
  ) {
    this.launching = early?.browser;
    this.launchAbort = early?.abort ?? new AbortController();
    this.artifacts = new SessionArtifacts(config.browserSettings, createEdgeArtifacts(config));
    this.clients = new ClientRegistry(config.expiresAt.getTime());
  }

  /** Starts everything and posts `ready`; throws NodeError("not-ready") past the ready deadline. */
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
    const readinessSecret = randomBytes(32).toString("hex");
    const ctx: ProxyContext = {
      verifier: createTokenVerifier(config),
      readinessSecret,
      browser: () => (this.browser?.isRunning() ? this.browser : undefined),
      accepting: () => this.ending === undefined,
      upstreamLost: () => this.upstreamLost(),
      clients: this.clients,
      fallbackHost: () => `${config.advertiseHost ?? "127.0.0.1"}:${this.port}`,
      artifacts: this.artifacts,
    };
    // The session's folder, and its extension before Chromium starts (a session with neither an
    // extension nor a context had Chromium launched by main.ts already: `launching` is set).
    // The session's way out (proxies, allowedDomains, blockAds) is set before any client can
    // navigate; until then the egress proxy refuses everything.
    await Promise.all([this.artifacts.prepare(), this.egress.configure(egressSettings(config.browserSettings, config.proxies))]);
    if (this.ending) return;
    this.launching ??= launchBrowser({
      executable: config.chromiumPath,
      settings: config.browserSettings,
      timeoutMs: Math.max(1000, deadline - Date.now()),
      extras: { extensionDir: this.artifacts.extensionDir, egressPort: this.egress.port, offline: config.egress.offline },
      seedProfile: (dir) => this.artifacts.seedProfile(dir),
      signal: this.launchAbort.signal,
    });
    // The proxy gets ready while Chromium starts.
    this.server = createProxyServer(ctx);
    // Locally the node advertises loopback and need not listen anywhere else; in a task it must.
    const bindHost = config.advertiseHost && /^(127\.|localhost$|::1$)/.test(config.advertiseHost) ? "127.0.0.1" : "0.0.0.0";
    this.port = await listen(this.server, config.proxyPort, bindHost);
    const browser = (this.browser = await this.launching);
    void browser.exited.then(({ code, signal }) => {
      if (!this.ending) void this.end("browser-crashed", `Chromium exited (code ${code}, signal ${signal})`);
    });
    const launched = performance.now();
    log("browser-started", { pid: browser.pid, debugPort: browser.debugPort, proxyPort: this.port, profileDir: browser.profileDir });
    // Downloads must be in place before any client; the probe through the proxy does not need
    // them, so both go at once (each is a few CDP round trips on a cold browser).
    const [browserVersion] = await Promise.all([
      probeThroughProxy(this.port, readinessSecret, deadline),
      this.artifacts.attach(browser),
      applyCertificatePolicy(browser, config.browserSettings).then((held) => (this.certificatePolicy = held)),
    ]);
    if (this.ending) return;
    const probed = performance.now();
    await this.edge.ready({ host: config.advertiseHost, port: this.port, browserVersion }, deadline);
    if (this.ending) return;
    this.artifacts.sessionReady(); // the recorder, which must not slow the start (recorder.ts)
    log("ready", {
      port: this.port,
      host: config.advertiseHost,
      browserVersion,
      // Milliseconds since the process started: Chromium listening, the probe done, the edge told.
      ms: { browser: Math.round(launched), probed: Math.round(probed), reported: Math.round(performance.now()) },
    });

    this.usageReports = reportUsage(this.egress, createEdgeArtifacts(config));
    this.disarmTimers = armSessionTimers({ ...config, clients: this.clients, end: (reason) => void this.end(reason) });
    this.heartbeat = setInterval(() => void this.beat(), config.heartbeatIntervalMs);
  }

  private async beat() {
    const reply = await this.edge.heartbeat();
    if (reply?.end) void this.end("released", "the edge considers the session over");
  }

  /** A client's Chromium socket dropped without a close frame: a crash if the browser is dying. */
  private async upstreamLost(): Promise<CloseReason> {
    const browser = this.browser;
    if (!browser) return CloseCode.nodeError;
    const dead = await Promise.race([browser.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
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
    clearInterval(this.heartbeat);
    this.server?.close();
    await Promise.race([this.clients.closeAll(CLOSE_FOR[reason]), new Promise((r) => setTimeout(r, CLIENT_CLOSE_MS))]);
    this.server?.closeAllConnections();
    this.launchAbort.abort(); // a Chromium still starting (or hung before listening) is stopped, not awaited
    const browser = this.browser ?? (await this.launching?.catch(() => undefined));
    // Artifacts land before `exit` is reported: the context's profile once Chromium has stopped
    // cleanly (before its profile is removed), then the last downloads, log and recording.
    await browser?.stop((profileDir) => this.artifacts.beforeProfileRemoved(profileDir));
    await this.artifacts.finish();
    this.certificatePolicy?.close();
    const { proxyBytes } = this.usageReports?.stop() ?? this.egress.usage();
    await this.egress.stop();
    const reported = await this.edge.exit({ reason, detail: detail?.slice(0, 2000), proxyBytes });
    const code = exitCodeFor(reason);
    log("exit", { reason, detail, code, reported }, code === 0 ? "info" : "error");
    return code;
  }
}
