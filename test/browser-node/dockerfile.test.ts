/**
 * The image, checked without a Docker engine (none runs here): the Dockerfile is parsed into its
 * instructions, its files are laid out in a scratch root where COPY puts them (from what
 * `npm run build:node` produced, through .dockerignore), and the program is started the way
 * CMD starts it, with ENV's settings, as the image's user, in each connect mode against a fake
 * edge. HEALTHCHECK's own command then probes that node with the image's environment (the connect
 * mode is the assignment's, not in it): direct mode's proxy answers /health; edge mode listens on
 * no port, and a refused connection is healthy. (global-setup.ts has just run the build.)
 */
import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commandOf, copyOf, dockerIgnores, envPairs, parseDockerfile } from "./support/dockerfile.ts";
import { FakeEdge } from "./support/fake-edge.ts";
import { ROOT, startNode } from "./support/node-process.ts";
import { egressPortOf, listeners } from "./support/sockets.ts";
import { freePort } from "../../browser-node/local/tasks.ts";
import { TEST_CHROMIUM } from "../support/chromium.ts";
import { NODE_FLAGS } from "../../browser-node/local/tasks.ts";

const instructions = parseDockerfile(readFileSync(`${ROOT}browser-node/Dockerfile`, "utf8"));
const all = (keyword: string) => instructions.filter((i) => i.keyword === keyword);
/** The one that takes effect: for these, Docker keeps the last. */
const last = (keyword: string) => all(keyword).at(-1)?.args;

const imageEnv: Record<string, string> = Object.assign({}, ...all("ENV").map((i) => envPairs(i.args)));
const workdir = last("WORKDIR") ?? "/";
const copies = all("COPY").map((i) => copyOf(i.args));
/** The users of the base image (node:*-bookworm-slim's /etc/passwd). */
const BASE_IMAGE_UIDS: Record<string, number> = { root: 0, node: 1000 };
const user = last("USER") ?? "root";

/** Packages the image installs with apt-get. */
const aptPackages = all("RUN").flatMap((i) =>
  [...i.args.matchAll(/apt-get install ([^&;|]*)/g)].flatMap((m) => m[1]!.split(/\s+/).filter((w) => w && !w.startsWith("-"))),
);

/** Lays COPY's files out under `root` as the image holds them. */
function layOut(root: string) {
  for (const { sources, destination } of copies) {
    const into = posix.resolve(workdir, destination);
    for (const source of sources) {
      const target = destination.endsWith("/") ? posix.join(into, posix.basename(source)) : into;
      mkdirSync(join(root, dirname(target)), { recursive: true, mode: 0o755 });
      copyFileSync(`${ROOT}${source}`, join(root, target));
      chmodSync(join(root, target), 0o644);
    }
  }
}

/** HEALTHCHECK's command, run as Docker runs it in the container; resolves with its exit code. */
function healthCheck(env: Record<string, string>, as: { uid?: number; gid?: number }): Promise<number | null> {
  const check = last("HEALTHCHECK")!;
  const timeoutS = Number(/--timeout=(\d+)s/.exec(check)?.[1] ?? 30);
  const [file, ...args] = commandOf(check.slice(check.indexOf("CMD ") + 4).trim());
  const child = spawn(file!, args, { env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ...env }, ...as, stdio: "ignore", timeout: timeoutS * 1000 });
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

const scratch = mkdtempSync(join(tmpdir(), "wc-image-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The image's files laid out under `scratch` (once), and how CMD starts its program there, as whom. */
let laidOut: { argv: string[]; as: { uid?: number; gid?: number }; home: string } | undefined;
function image() {
  if (laidOut) return laidOut;
  layOut(scratch);
  chmodSync(scratch, 0o755);
  const home = join(scratch, "home", user);
  mkdirSync(home, { recursive: true });
  // As root here, become the image's user; otherwise this test already runs unprivileged.
  const as = process.getuid?.() === 0 ? { uid: BASE_IMAGE_UIDS[user]!, gid: BASE_IMAGE_UIDS[user]! } : {};
  if (as.uid !== undefined) chownSync(home, as.uid, as.gid!);

  // tini is not on this machine: what it starts is the command after its "--".
  const argv = [...commandOf(last("ENTRYPOINT")!).slice(2), ...commandOf(last("CMD")!)].map((arg, i) =>
    i === 0 && arg === "node" ? process.execPath : arg.startsWith("/") && existsSync(join(scratch, arg)) ? join(scratch, arg) : arg,
  );
  expect(argv.filter((arg) => arg.startsWith(`${scratch}/`)), "CMD runs a file COPY put in the image").not.toEqual([]);
  laidOut = { argv, as, home };
  return laidOut;
}

describe("browser-node/Dockerfile", () => {
  it("copies only files the build produced and the build context lets in", () => {
    expect(copies.length).toBeGreaterThan(0);
    for (const { flags, sources } of copies) {
      expect(flags.filter((f) => f.startsWith("--from")), "no other build stage").toEqual([]);
      for (const source of sources) {
        expect(existsSync(`${ROOT}${source}`), `${source} exists after npm run build:node`).toBe(true);
        expect(dockerIgnores(`${ROOT}.dockerignore`, source), `${source} is excluded by .dockerignore`).toBe(false);
      }
    }
    expect(dockerIgnores(`${ROOT}.dockerignore`, "node_modules/ws/index.js")).toBe(true); // the context stays small
  });

  it("installs from Debian what ENTRYPOINT and ENV name: tini as PID 1, and the Chromium the node launches", () => {
    const [init, ...initArgs] = commandOf(last("ENTRYPOINT")!);
    expect([init, ...initArgs]).toEqual(["/usr/bin/tini", "--"]);
    expect(aptPackages).toContain("tini");
    // The package that owns the browser path on this Debian machine (the image's base is Debian too).
    const owner = execFileSync("dpkg-query", ["-S", imageEnv.WC_CHROMIUM_PATH!], { encoding: "utf8" }).split(":")[0];
    expect(aptPackages).toContain(owner);
  });

  it("exposes the port direct mode's proxy listens on", () => {
    expect(all("EXPOSE").map((i) => i.args)).toEqual([imageEnv.WC_PROXY_PORT]);
  });

  it("starts Node with the flags the local stand-in starts nodes with", () => {
    const [node, ...rest] = commandOf(last("CMD")!);
    expect([node, rest.at(-1)]).toEqual(["node", "/app/start.mjs"]);
    expect(rest.slice(0, -1)).toEqual(NODE_FLAGS);
  });

  it("runs as the base image's unprivileged user", () => {
    expect(Object.keys(BASE_IMAGE_UIDS)).toContain(user);
    expect(BASE_IMAGE_UIDS[user]).not.toBe(0);
  });

  it("leaves the connect mode to the task: edge, the node's default, unless the task says direct", () => {
    expect(imageEnv).not.toHaveProperty("WC_CONNECT_MODE");
  });

  it("starts the copied bundle as CMD says, with ENV's settings, as that user, in direct mode; HEALTHCHECK asks the proxy's /health", async () => {
    const { argv, as, home } = image();
    const edge = await FakeEdge.start();
    const sessionId = randomUUID();
    // Port 0 instead of ENV's, so parallel runs never collide; the health check gets the port the node got.
    // ENV's Chromium (checked above) behind the tests' wrapper, which keeps it off the network.
    const env = { ...imageEnv, WC_CHROMIUM_PATH: TEST_CHROMIUM, WC_PROXY_PORT: "0", HOME: home };
    const node = await startNode({ edge, sessionId, connectMode: "direct", env, command: { argv, cwd: join(scratch, workdir), ...as } });
    try {
      const ready = await edge.waitFor(sessionId, "ready");
      const port = String(ready.direct.port);
      const browser = await node.waitForLog("browser-started");
      expect(statSync(`/proc/${browser.pid}`).uid, "Chromium runs unprivileged").not.toBe(0);
      expect(await healthCheck({ ...imageEnv, WC_PROXY_PORT: port }, as)).toBe(0);

      node.child.kill("SIGTERM");
      expect(await node.exited).toEqual({ code: 0, signal: null });
      expect(edge.messages(sessionId, "exit").map((e) => e.reason)).toEqual(["terminated"]);
      // The recorder's rrweb bundle is read from beside the program: COPY must have put it there.
      expect(node.logs.filter((l) => l.event === "recording-failed")).toEqual([]);
    } finally {
      if (node.child.exitCode === null) node.child.kill("SIGKILL");
      await edge.stop();
    }
  });

  it("HEALTHCHECK fails on a proxy port that answers /health with anything but 200", async () => {
    const { as } = image();
    const broken = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((r) => broken.listen(0, "127.0.0.1", r));
    try {
      expect(await healthCheck({ ...imageEnv, WC_PROXY_PORT: String((broken.address() as AddressInfo).port) }, as)).not.toBe(0);
    } finally {
      await new Promise<void>((r) => broken.close(() => r()));
    }
  });

  it("starts the same way in edge mode, with ENV as the image sets it: no port listens, which HEALTHCHECK takes as healthy", async () => {
    const { argv, as, home } = image();
    const edge = await FakeEdge.start();
    const sessionId = randomUUID();
    const env = { ...imageEnv, WC_CHROMIUM_PATH: TEST_CHROMIUM, HOME: home };
    const node = await startNode({ edge, sessionId, env, command: { argv, cwd: join(scratch, workdir), ...as } });
    try {
      const ready = await edge.waitFor(sessionId, "ready");
      expect(ready.direct).toBeUndefined();
      const browser = await node.waitForLog("browser-started");
      expect(statSync(`/proc/${browser.pid}`).uid, "Chromium runs unprivileged").not.toBe(0);
      // Edge mode listens for no client: its one listener is the egress proxy, on loopback.
      expect(listeners(node.child.pid!), "edge mode listens on no port but the egress proxy's").toEqual([{ address: "127.0.0.1", port: egressPortOf(browser.pid) }]);
      expect(await healthCheck({ ...imageEnv, WC_PROXY_PORT: String(await freePort()) }, as)).toBe(0);

      node.child.kill("SIGTERM");
      expect(await node.exited).toEqual({ code: 0, signal: null });
      expect(edge.messages(sessionId, "exit").map((e) => e.reason)).toEqual(["terminated"]);
      expect(node.logs.filter((l) => l.event === "recording-failed")).toEqual([]);
    } finally {
      if (node.child.exitCode === null) node.child.kill("SIGKILL");
      await edge.stop();
    }
  });
});
