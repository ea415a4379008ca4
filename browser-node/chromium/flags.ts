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
];

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
  // The viewport setting sizes the window. A page whose client sets no viewport of its own gets
  // the window less the toolbars headless Chromium still lays out (143 px of height in Chromium
  // 156, measured), as in a desktop browser.
  const size = settings.viewport ?? DEFAULT_VIEWPORT;
  flags.push(`--window-size=${size.width},${size.height}`);
  if (extras.egressPort) {
    // "<-loopback>" takes away Chromium's implicit bypass of localhost and 127.0.0.0/8: loopback
    // is decided by the proxy too (refused in the image, allowed on the local platform).
    flags.push(`--proxy-server=http://127.0.0.1:${extras.egressPort}`, "--proxy-bypass-list=<-loopback>");
  }
  if (extras.extensionDir) {
    // As Stagehand's own launcher does: only this extension, and the Extensions CDP domain
    // (Extensions.getExtensions), which clients use to find it.
    flags.push(`--load-extension=${extras.extensionDir}`, `--disable-extensions-except=${extras.extensionDir}`, "--enable-unsafe-extension-debugging");
  }
  flags.push("about:blank");
  return flags;
}
