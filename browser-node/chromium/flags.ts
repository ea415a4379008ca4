/**
 * Chromium's command line, built from the session's browser settings: every setting that needs
 * a flag (viewport, extension) adds it here, so launching stays one call.
 */
import { DEFAULT_VIEWPORT } from "../../edge/browser-settings.ts";
import type { BrowserSettings } from "../config.ts";

/**
 * Headless Chromium in a container, as the image's unprivileged `node` user (Dockerfile).
 * --no-sandbox: container runtimes' default seccomp profiles refuse the user namespaces Chromium's
 * sandbox is built on; the task, its network rules and the host-resolver rules below contain the
 * browser instead. The rest keep it off services a task does not have (GPU, keychain, a large
 * /dev/shm, crash reporting, Google's update and sync endpoints).
 */
const BASE_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--mute-audio",
  "--password-store=basic",
  "--use-mock-keychain",
  "--disable-breakpad",
  // Without it the first tab carries an infobar about --no-sandbox (56 px of height, measured in
  // Chromium 156), so that page alone was shorter than every later one.
  "--test-type",
  // The Extensions CDP domain: the node loads a session's extension into a running browser over
  // its --remote-debugging-pipe (Extensions.loadUnpacked), and clients find it (as Stagehand's
  // launcher does) with Extensions.getExtensions.
  "--enable-unsafe-extension-debugging",
  // Chromium 156 loads its two omnibox popups (WebUI pages) at startup although a headless browser
  // never shows them. Measured: ~800 ms of a renderer's CPU and ~150 ms of the browser's in the
  // second after launch, and a renderer process more. That second is when a pool member has just
  // said `warm` and may be claimed, and when a cold session's client connects.
  "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup",
];

/**
 * Height of what headless Chromium still lays out above a page (tab strip and toolbar): 87 px in
 * Chromium 156, measured (outerHeight - innerHeight). Windows are sized this much taller than the
 * viewport so a page's innerWidth/innerHeight are the viewport. A running browser measures its own
 * (chromium/settle.ts); this is the launch's estimate.
 */
export const WINDOW_UI_HEIGHT = 87;

/** The window size that gives a page `viewport`, with `uiHeight` px of browser UI above it. */
export const windowSize = (viewport: { width: number; height: number }, uiHeight = WINDOW_UI_HEIGHT) => ({
  width: viewport.width,
  height: viewport.height + uiHeight,
});

/**
 * The browser is untrusted: pages must not reach the task metadata and credentials endpoints
 * (169.254.169.254, 169.254.170.2), private networks, or local listeners through 0.0.0.0.
 * Chromium applies these rules to IP literals too (measured: ERR_NAME_NOT_RESOLVED at once).
 * They stay as a second line behind the egress proxy (browser-node/egress/), which resolves every
 * name itself and refuses these ranges, loopback too, after resolution.
 * Chromium's own debugging port on loopback refuses page WebSockets because we do not pass
 * --remote-allow-origins (pages always send Origin; the proxy strips it after checking the token),
 * and its HTTP answers carry no CORS headers, so pages cannot read them either.
 */
const BLOCKED_HOSTS = [
  "169.254.*",
  "10.*",
  "192.168.*",
  ...Array.from({ length: 16 }, (_, i) => `172.${16 + i}.*`),
  "0.0.0.0",
  "[::]",
  "[fc*",
  "[fd*",
  "[fe80:*",
  "[::ffff:*",
  "metadata.google.internal",
];

export const HOST_RESOLVER_RULES = BLOCKED_HOSTS.map((host) => `MAP ${host} ~NOTFOUND`).join(", ");

/**
 * Offline (WC_EGRESS_OFFLINE, tests): Chromium itself resolves nothing but loopback either, so a
 * request that ever bypassed the egress proxy (a regression) could not send a DNS query off the
 * machine. Behind the proxy Chromium resolves nothing anyway.
 */
export const OFFLINE_RESOLVER_RULES = "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1";

/** What the session brings to the launch besides its settings. */
export interface LaunchExtras {
  /** An unpacked extension to load (the session's `extensionId`). */
  extensionDir?: string;
  /** The node's egress proxy on 127.0.0.1 (browser-node/egress/): every request goes through it. */
  egressPort?: number;
  /** Resolve nothing but loopback (OFFLINE_RESOLVER_RULES). */
  offline?: boolean;
}

export function launchFlags(settings: BrowserSettings, profileDir: string, extras: LaunchExtras = {}): string[] {
  const flags = [
    ...BASE_FLAGS,
    `--user-data-dir=${profileDir}`,
    // The port is chosen by Chromium and read from its "DevTools listening" line, so many local
    // nodes never collide and nothing outside can guess it; it always binds 127.0.0.1.
    "--remote-debugging-port=0",
    // fd 3/4: a lifeline. Chromium shuts down when this pipe closes, so a node killed outright
    // (SIGKILL, OOM) takes its browser with it even where no init reaps the task.
    "--remote-debugging-pipe",
    `--host-resolver-rules=${HOST_RESOLVER_RULES}${extras.offline ? `, ${OFFLINE_RESOLVER_RULES}` : ""}`,
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
  ];
  // The viewport sizes the window, taller by the browser's UI, so a page whose client sets no
  // viewport of its own has exactly the viewport (every new window takes this size too).
  const size = windowSize(settings.viewport ?? DEFAULT_VIEWPORT);
  flags.push(`--window-size=${size.width},${size.height}`);
  if (extras.egressPort) {
    // "<-loopback>" takes away Chromium's implicit bypass of localhost and 127.0.0.0/8: loopback
    // is decided by the proxy too (refused in the image, allowed on the local platform).
    flags.push(`--proxy-server=http://127.0.0.1:${extras.egressPort}`, "--proxy-bypass-list=<-loopback>");
  }
  if (extras.extensionDir) {
    // As Stagehand's own launcher does: only this extension (a launch that knows it: the cold
    // path, a context's relaunch; a warm browser loads it over the pipe instead).
    flags.push(`--load-extension=${extras.extensionDir}`, `--disable-extensions-except=${extras.extensionDir}`);
  }
  flags.push("about:blank");
  return flags;
}
