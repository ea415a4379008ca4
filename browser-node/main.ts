/**
 * The browser node's entry point: `node dist/browser-node/main.mjs` in the image and locally,
 * or `node --import tsx browser-node/main.ts` from source.
 *
 * Exit codes: 0 for a normal end (released, idle, timed-out, never-connected, SIGTERM),
 * 1 when the node could not become ready, the browser crashed, or anything else failed,
 * 2 for a configuration error (one line on stderr names the variable; the edge is told too).
 */
import { launchBrowser, type EarlyLaunch } from "./chromium/browser-process.ts";
import { readConfig, readEdgeContact, type NodeConfig } from "./config.ts";
import { startEgress, type Egress } from "./egress/egress.ts";
import { log, setLogContext } from "./log.ts";
import { NodeError } from "./node-error.ts";

/**
 * A node that cannot start says why, and to the edge too when its link can be opened: the
 * create waiting there then fails at once with the reason, not when the task's stop is noticed.
 */
async function readConfigOrExit(): Promise<NodeConfig> {
  try {
    return readConfig();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`browser-node: ${message}\n`);
    const contact = readEdgeContact();
    if (contact) {
      setLogContext({ sessionId: contact.sessionId });
      const { reportExit } = await import("./link/edge-link.ts");
      const told = await reportExit(contact, { reason: "error", detail: message.slice(0, 2000) }).catch(() => false);
      if (!told) log("exit-report-failed", { reason: "error" }, "warn");
    }
    process.exit(2);
  }
}

const config = await readConfigOrExit();
setLogContext({ sessionId: config.sessionId });

/**
 * A cold create waits for this node's boot, then for Chromium's (~300 ms). A session that needs
 * nothing from the edge before its browser starts (no extension, no saved context) launches
 * Chromium first, and the rest of the node (the proxy, jose, ws, the artifacts: ~15 ms of module
 * loading) is imported while it starts.
 */
function launchEarly(config: NodeConfig, egress: Egress): EarlyLaunch | undefined {
  const { extensionId, context } = config.browserSettings;
  if (extensionId || context) return undefined;
  const abort = new AbortController();
  const browser = launchBrowser({
    executable: config.chromiumPath,
    settings: config.browserSettings,
    timeoutMs: config.readyDeadlineMs,
    signal: abort.signal,
    extras: { egressPort: egress.port, offline: config.egress.offline },
  });
  browser.catch(() => {}); // the session takes the outcome; until it exists a failure is not "unhandled"
  return { browser, abort };
}

// Chromium's flags name the egress proxy's port, so it listens first (it refuses every request
// until the session configures it).
const egress = await startEgress(config.egress);
const early = launchEarly(config, egress);
// Taken from here on: a stop that comes while the session's code still loads ends the session
// (and the browser already starting) once it exists.
const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
  process.once("SIGTERM", () => resolve("SIGTERM"));
  process.once("SIGINT", () => resolve("SIGINT"));
});
const { Session } = await import("./session/session.ts");
const session = new Session(config, egress, early);
void session.ended.then((code) => process.exit(code));
void stopSignal.then((signal) => session.end("terminated", signal));
process.on("uncaughtException", (err) => {
  log("uncaught-exception", { message: err.message, stack: err.stack }, "error");
  void session.end("error", err.message);
});

log("starting", {
  projectId: config.projectId,
  expiresAt: config.expiresAt.toISOString(),
  keepAlive: config.keepAlive,
  connectMode: config.connectMode,
  proxyPort: config.connectMode === "direct" ? config.proxyPort : undefined,
  viewport: config.browserSettings.viewport,
});

session.start().catch((err: unknown) => {
  const reason = err instanceof NodeError ? err.reason : "not-ready";
  void session.end(reason === "error" ? "not-ready" : reason, err instanceof Error ? err.message : String(err));
});
