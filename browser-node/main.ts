/**
 * The browser node's program, which start.ts loads once V8's compile mode is set: `node
 * dist/browser-node/start.mjs` in the image and locally, or `node --import tsx browser-node/start.ts`
 * from source.
 *
 * Every node boots without a session (docs/pool.md): it starts its egress proxy, launches
 * Chromium with the defaults, lets it settle, says `warm` on its pool link and waits for one
 * assignment; a reserved member (the cold path) waits for its assignment first and launches
 * Chromium with the session's settings. Assigned, it serves that one session and exits.
 *
 * Exit codes: 0 for a normal end (released, idle, timed-out, never-connected, SIGTERM; retired or
 * dropped by the pool before an assignment), 1 when the node could not become warm or ready, the
 * browser crashed, the bootstrap token was refused, or anything else failed, 2 for a
 * configuration error (one line on stderr names it; an assignment's is reported to the edge too).
 */
import { rm } from "node:fs/promises";
import { setFlagsFromString } from "node:v8";
import { launchBrowser, type BrowserProcess, type EarlyLaunch } from "./chromium/browser-process.ts";
import { assignmentContact, readBootConfig, readBootContact, sessionConfig, type BootConfig, type BootContact, type NodeConfig } from "./config.ts";
import { startEgress, type Egress } from "./egress/egress.ts";
import { PoolLink } from "./link/pool-link.ts";
import { log, setLogContext } from "./log.ts";
import { NodeError } from "./node-error.ts";
import type { Assignment } from "../edge/node-protocol.ts";
import type { Session, WarmBrowser } from "./session/session.ts";

const problem = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** How long a reserved member whose configuration is refused waits for its assignment, to say why. */
const REFUSAL_REPORT_MS = 30_000;

async function readBootOrExit(): Promise<BootConfig> {
  try {
    return readBootConfig();
  } catch (err) {
    const message = problem(err);
    process.stderr.write(`browser-node: ${message}\n`);
    // A member reserved for a session can still reach its pool, take its assignment and tell that
    // session why it cannot serve it: the create then fails at once with the reason. A warm member
    // has no session to tell (its pool forgets it when its task stops).
    const contact = readBootContact();
    if (contact?.reserved) await tellReservedSession(contact, message);
    process.exit(2);
  }
}

async function tellReservedSession(contact: BootContact, message: string) {
  let link: PoolLink | undefined;
  const assignment = await new Promise<Partial<Assignment> | undefined>((resolve) => {
    link = new PoolLink(contact, { assign: resolve, gone: () => resolve(undefined) });
    link.start(Date.now() + REFUSAL_REPORT_MS);
    setTimeout(() => resolve(undefined), REFUSAL_REPORT_MS).unref();
  });
  const session = assignmentContact(contact, assignment);
  if (session) {
    setLogContext({ sessionId: session.sessionId });
    const { reportExit } = await import("./link/edge-link.ts");
    const told = await reportExit(session, { reason: "error", detail: message.slice(0, 2000) }).catch(() => false);
    if (!told) log("exit-report-failed", { reason: "error" }, "warn");
  }
  await link?.close();
}

const boot = await readBootOrExit();
setLogContext({ memberId: boot.memberId });
const bootDeadline = Date.now() + boot.readyDeadlineMs;

/**
 * A reserved member's session that needs nothing from the edge before its browser starts (no
 * extension, no saved context) launches Chromium at once, and the rest of the node (the proxy,
 * jose, ws, the artifacts: ~15 ms of module loading) is imported while it starts.
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
// until a session configures it).
const egress = await startEgress(boot.egress);
let session: Session | undefined;
let leaving = false;
/** The warm browser: launching, settling, then settled (undefined for a reserved member). */
let warming: Promise<WarmBrowser> | undefined;
/** The session folder a warm member made ahead; a member that serves no session removes it as it leaves. */
let warmFolder: string | undefined;
const removeWarmFolder = () => (warmFolder ? rm(warmFolder, { recursive: true, force: true }).catch(() => {}) : undefined);
const warmAbort = new AbortController();

/** Leaves the pool unassigned: Chromium stopped, the egress proxy closed, the process gone. */
async function leave(code: 0 | 1, detail: string) {
  if (session || leaving) return;
  leaving = true;
  log("leaving-pool", { detail, code }, code === 0 ? "info" : "error");
  if (code === 1) process.stderr.write(`browser-node: ${detail}\n`);
  warmAbort.abort();
  const warm = await warming?.catch(() => undefined);
  await Promise.all([warm?.browser.stop(), egress.stop(), poolLink.close(), removeWarmFolder()]);
  log("exit", { reason: "unassigned", detail, code });
  process.exit(code);
}

const poolLink = new PoolLink(boot, {
  assign: (assignment) => void assigned(assignment),
  gone: (code, detail) => void leave(code, detail),
});

/** Assigned, its Session not built yet (the module loads): a stop then ends the session once it exists. */
let assigning = false;
let stopWhenAssigned: NodeJS.Signals | undefined;
const stop = (signal: NodeJS.Signals) => {
  if (session) void session.end("terminated", signal);
  else if (assigning) stopWhenAssigned = signal;
  else void leave(0, signal);
};
process.once("SIGTERM", () => stop("SIGTERM"));
process.once("SIGINT", () => stop("SIGINT"));
process.on("uncaughtException", (err) => {
  log("uncaught-exception", { message: err.message, stack: err.stack }, "error");
  if (session) void session.end("error", err.message);
  else void leave(1, `uncaught exception: ${err.message}`);
});

async function assigned(raw: Partial<Assignment>) {
  if (leaving) return;
  const assignedAt = performance.now();
  let config: NodeConfig;
  try {
    config = sessionConfig(boot, raw);
  } catch (err) {
    return refuseAssignment(raw, problem(err));
  }
  assigning = true;
  // start.ts kept the warm member's bytecode from being flushed; from here on, what the session does not run may go.
  setFlagsFromString("--flush-bytecode");
  setLogContext({ sessionId: config.sessionId });
  log("assigned", {
    projectId: config.projectId,
    expiresAt: config.expiresAt.toISOString(),
    keepAlive: config.keepAlive,
    connectMode: config.connectMode,
    proxyPort: config.connectMode === "direct" ? config.proxyPort : undefined,
    viewport: config.browserSettings.viewport,
    reserved: boot.reserved,
  });
  const early = boot.reserved ? launchEarly(config, egress) : undefined;
  const warm = await warming?.catch(() => undefined);
  const { Session } = await import("./session/session.ts");
  if (leaving) return;
  session = new Session(config, egress, { warm, early, assignedAt, linked: () => void poolLink.handedOver(), readyAhead: (ready) => poolLink.ready(ready) });
  void session.ended.then((code) => process.exit(code));
  session.start().catch((err: unknown) => {
    const reason = err instanceof NodeError ? err.reason : "not-ready";
    void session!.end(reason === "error" ? "not-ready" : reason, problem(err));
  });
  if (stopWhenAssigned) void session.end("terminated", stopWhenAssigned);
}

/** An assignment the node cannot take (the edge checked it: a bug): told to the session, exit 2. */
async function refuseAssignment(raw: Partial<Assignment>, message: string) {
  leaving = true;
  process.stderr.write(`browser-node: ${message}\n`);
  const contact = assignmentContact(boot, raw);
  if (contact) setLogContext({ sessionId: contact.sessionId });
  log("assignment-refused", { problem: message }, "error");
  warmAbort.abort();
  const warm = await warming?.catch(() => undefined);
  const { reportExit } = await import("./link/edge-link.ts");
  const [told] = await Promise.all([
    contact ? reportExit(contact, { reason: "error", detail: message.slice(0, 2000) }).catch(() => false) : false,
    warm?.browser.stop(),
  ]);
  if (contact && !told) log("exit-report-failed", { reason: "error" }, "warn");
  await Promise.all([egress.stop(), poolLink.close(), removeWarmFolder()]);
  process.exit(2);
}

/** Launches Chromium with the defaults and a fresh profile, and settles it (chromium/settle.ts). */
async function warmUp(): Promise<WarmBrowser> {
  const started = performance.now();
  const browser: BrowserProcess = await launchBrowser({
    executable: boot.chromiumPath,
    settings: {},
    timeoutMs: Math.max(1000, bootDeadline - Date.now()),
    signal: warmAbort.signal,
    extras: { egressPort: egress.port, offline: boot.egress.offline },
  });
  log("browser-started", { pid: browser.pid, debugPort: browser.debugPort, profileDir: browser.profileDir });
  void browser.exited.then(({ code, signal }) => {
    if (!session) void leave(1, `Chromium exited while warm (code ${code}, signal ${signal})`);
  });
  const [{ settleBrowser }, { SideCdp }, { makeSessionFolder }, { checkJsonVersion }, { Recorder }] = await Promise.all([
    import("./chromium/settle.ts"),
    import("./artifacts/side-cdp.ts"),
    import("./artifacts/session-artifacts.ts"),
    import("./readiness.ts"),
    import("./artifacts/recorder.ts"),
  ]);
  // Held open: the session takes it over, and its first CDP round trips need no new connection.
  const cdp = await SideCdp.connect(browser.debugPort, browser.browserPath);
  // The assignment then only checks the held connection (readiness.ts, probeWarm).
  const folder = makeSessionFolder().then((dir) => (warmFolder = dir));
  const [settled, sessionFolder] = await Promise.all([settleBrowser(cdp), folder, checkJsonVersion(browser.debugPort)]);
  // The recorder goes in once the browser has settled, so a create does not wait for it and the
  // first client's connect does not meet it (a session with `recordSession: false` takes it off).
  const recorder = new Recorder(cdp);
  await recorder.attach();
  log("warm", { browserVersion: settled.browserVersion, uiHeight: settled.uiHeight, sessionFolder, ms: { sinceStart: Math.round(performance.now()), warmUp: Math.round(performance.now() - started) } });
  return { browser, settled, cdp, recorder, sessionFolder };
}

log("starting", { pool: boot.pool, reserved: boot.reserved });
// The pool link is dialed at once: a reserved member's assignment comes as soon as it opens;
// a warm member's link is open by the time its browser has settled.
poolLink.start(bootDeadline);
if (!boot.reserved) {
  warming = warmUp();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not warm within ${boot.readyDeadlineMs} ms`)), Math.max(0, bootDeadline - Date.now()));
  });
  Promise.race([warming, late])
    .then(({ settled }) => poolLink.warm(settled.browserVersion))
    .catch((err: unknown) => void leave(1, `the node could not become warm: ${problem(err)}`))
    .finally(() => clearTimeout(timer));
  // Loaded while no session waits, so an assignment pays nothing for it.
  void import("./session/session.ts");
}
