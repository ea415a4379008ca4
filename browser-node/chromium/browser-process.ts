/**
 * Launches Chromium in its own process group with a fresh profile, supervises it, and stops it
 * with the one recipe that held every time it was tried, even right after launch: Browser.close,
 * SIGTERM, SIGKILL of the group, wait until nothing of it is left, then remove the profile
 * (SIGTERM alone can take seconds early in Chromium's life, and removing the profile while its
 * helpers still write into it fails).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { NodeEnv } from "../../edge/node-protocol.ts";
import { sleep } from "../../edge/retries.ts";
import type { BrowserSettings } from "../config.ts";
import { NodeError } from "../node-error.ts";
import { launchFlags, type LaunchExtras } from "./flags.ts";
import { liveProcesses } from "./process-table.ts";

export interface BrowserExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface BrowserProcess {
  readonly pid: number;
  /** Chromium's own debugging port; it listens on 127.0.0.1 only. */
  readonly debugPort: number;
  /** Path of the browser-level endpoint, `/devtools/browser/<id>`. */
  readonly browserPath: string;
  readonly profileDir: string;
  /**
   * A browser-level CDP command over --remote-debugging-pipe (fd 3/4), the one connection Chromium
   * lets use the Extensions domain (Extensions.loadUnpacked). Rejects with CDP's error message.
   */
  pipeCall<T = any>(method: string, params?: object): Promise<T>;
  /** Settles when the browser process exits, for whatever reason. */
  readonly exited: Promise<BrowserExit>;
  isRunning(): boolean;
  /**
   * Stops Chromium and everything it started, then removes the profile. Idempotent: the first
   * call's `beforeRemove` runs once nothing of Chromium is left and the profile is still there
   * (a context's profile is saved then).
   */
  stop(beforeRemove?: (profileDir: string) => Promise<void>): Promise<void>;
}

/**
 * Chromium's environment: the node's, less its credential (the browser is untrusted and has no
 * business with the edge; the session's tokens and proxies never are in the environment at all,
 * they come over the pool link). WC_MEMBER_ID stays: the local platform finds a node's leftover
 * processes by it.
 */
function browserEnv(configHome: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome };
  delete env[NodeEnv.bootstrapToken];
  return env;
}

const PIPE_CALL_MS = 30_000;

/** CDP over the pipe: NUL-separated JSON both ways. Ids from 1000 (Browser.close at stop uses 1). */
function pipeClient(input: Writable | null, output: NodeJS.ReadableStream | null) {
  let nextId = 1000;
  let buffered = "";
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  output?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let end: number;
    while ((end = buffered.indexOf("\0")) >= 0) {
      const text = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      let message: { id?: number; result?: unknown; error?: { message?: string } };
      try {
        message = JSON.parse(text);
      } catch {
        continue;
      }
      const call = message.id === undefined ? undefined : pending.get(message.id);
      if (!call) continue;
      pending.delete(message.id!);
      if (message.error) call.reject(new NodeError("error", `CDP: ${message.error.message ?? "error"}`));
      else call.resolve(message.result);
    }
  });
  output?.once("close", () => {
    for (const call of pending.values()) call.reject(new NodeError("error", "Chromium's pipe closed"));
    pending.clear();
  });
  return <T>(method: string, params: object = {}): Promise<T> => {
    if (!input || input.destroyed) return Promise.reject(new NodeError("error", "Chromium's pipe is closed"));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new NodeError("error", `${method}: no answer over the pipe within ${PIPE_CALL_MS} ms`));
      }, PIPE_CALL_MS);
      const done = (f: (v: any) => void) => (v: any) => {
        clearTimeout(timer);
        f(v);
      };
      pending.set(id, { resolve: done(resolve), reject: done(reject) });
      input.write(JSON.stringify({ id, method, params }) + "\0");
    });
  };
}

/**
 * A launch started before the session's own code loaded (main.ts, a reserved member): Chromium
 * takes ~300 ms to start, and the node's remaining modules load meanwhile. `abort` calls it off
 * if the session ends first.
 */
export interface EarlyLaunch {
  browser: Promise<BrowserProcess>;
  abort: AbortController;
}

const LISTENING = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)(\/devtools\/browser\/[A-Za-z0-9-]+)/;

export async function launchBrowser(options: {
  executable: string;
  settings: BrowserSettings;
  timeoutMs: number;
  extras?: LaunchExtras;
  /** Fills the fresh profile before Chromium starts (a context's saved profile). */
  seedProfile?: (profileDir: string) => Promise<void>;
  /** Aborted when the session ends first: a browser that never starts listening is stopped at once. */
  signal?: AbortSignal;
}): Promise<BrowserProcess> {
  const profileDir = await mkdtemp(join(tmpdir(), "wc-profile-"));
  try {
    await options.seedProfile?.(profileDir);
  } catch (err) {
    await rm(profileDir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  // Crashpad keeps its database under XDG_CONFIG_HOME: inside the profile, it is removed with it
  // and its handler processes carry the profile path, so the node can find and stop them too.
  const configHome = join(profileDir, "config");
  await mkdir(configHome, { recursive: true });
  const child = spawn(options.executable, launchFlags(options.settings, profileDir, options.extras), {
    detached: true, // own process group: killing it takes every helper process along
    stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
    env: browserEnv(configHome),
  });
  // Nobody cares about a broken lifeline once it is stopping.
  for (const stream of [child.stdio[3], child.stdio[4]]) stream?.on("error", () => {});
  const pipeCall = pipeClient(child.stdio[3] as Writable | null, child.stdio[4] as NodeJS.ReadableStream | null);
  const exited = new Promise<BrowserExit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let running = true;
  void exited.then(() => (running = false));
  child.once("error", () => (running = false));

  let tail = "";
  const found = await new Promise<{ port: number; path: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new NodeError("not-ready", `Chromium did not listen within ${options.timeoutMs} ms`)), options.timeoutMs);
    const abandon = () => {
      clearTimeout(timer);
      reject(new NodeError("not-ready", "the session ended while Chromium was starting"));
    };
    if (options.signal?.aborted) abandon();
    else options.signal?.addEventListener("abort", abandon, { once: true });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new NodeError("not-ready", `cannot start Chromium at ${options.executable}: ${err.message}`));
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new NodeError("not-ready", `Chromium exited before listening (code ${code}, signal ${signal}): ${tail.slice(-500)}`));
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      tail = (tail + chunk.toString("utf8")).slice(-4000);
      const m = LISTENING.exec(tail);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), path: m[2] });
      }
    });
  }).catch(async (err) => {
    await stopProcess(child, profileDir, exited, () => running);
    throw err;
  });

  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    debugPort: found.port,
    browserPath: found.path,
    profileDir,
    exited,
    pipeCall,
    isRunning: () => running,
    stop: (beforeRemove) => (stopping ??= stopProcess(child, profileDir, exited, () => running, beforeRemove)),
  };
}

async function waitFor(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const done = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return done;
}

function signalGroup(pgid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already gone
  }
}

async function stopProcess(
  child: ChildProcess,
  profileDir: string,
  exited: Promise<BrowserExit>,
  isRunning: () => boolean,
  beforeRemove?: (profileDir: string) => Promise<void>,
) {
  const pgid = child.pid;
  if (pgid !== undefined) {
    if (isRunning()) {
      // Browser.close through the lifeline pipe: Chromium's own orderly shutdown.
      const pipe = child.stdio[3] as Writable | null;
      pipe?.write('{"id":1,"method":"Browser.close"}\0', () => {});
      if (!(await waitFor(exited, 3000))) {
        signalGroup(pgid, "SIGTERM");
        await waitFor(exited, 3000);
      }
    }
    signalGroup(pgid, "SIGKILL");
    // Helpers outside the group (crashpad) are found by the profile path in their command line.
    for (let i = 0; i < 100; i++) {
      const left = liveProcesses({ pgid, needle: profileDir });
      if (left.length === 0) break;
      for (const p of left) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
      await sleep(30);
    }
  }
  for (const stream of child.stdio) stream?.destroy();
  await beforeRemove?.(profileDir).catch(() => {});
  await rm(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => {});
}
