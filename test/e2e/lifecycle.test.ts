import Browserbase from "@browserbasehq/sdk";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { beforeAll, describe, expect, it } from "vitest";
import { sessionProcesses, usePlatform } from "./helpers.ts";

/** Opens a raw CDP socket and resolves with the close frame the node sends when the session ends. */
function watchClose(connectUrl: string) {
  const socket = new WebSocket(connectUrl, { perMessageDeflate: false });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { socket, opened, closed };
}

const processName = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};

// Every way a session ends, through the whole stack: edge, stand-in, node, Chromium.
describe("session lifecycle end to end", () => {
  const t = usePlatform();
  let timingOut: Browserbase.Sessions.SessionCreateResponse;
  let timingOutClose: Promise<{ code: number; reason: string }>;

  beforeAll(async () => {
    // The shortest timeout Browserbase allows is 60 s: start it first, check it last.
    timingOut = await t.bb.sessions.create({ api_timeout: 60, keepAlive: true });
    const watcher = watchClose(timingOut.connectUrl);
    await watcher.opened;
    timingOutClose = watcher.closed;
  });
  it("ends a non-keepAlive session after its last client disconnects", async () => {
    const session = await t.bb.sessions.create({});
    const browser = await chromium.connectOverCDP(session.connectUrl);
    await browser.contexts()[0].pages()[0]?.goto(`${t.pages.url}/idle`);
    await browser.close();
    await expect.poll(async () => (await t.bb.sessions.retrieve(session.id)).status, { timeout: 30_000 }).toBe("COMPLETED");
    await expect.poll(async () => (await sessionProcesses(t.platform, session.id)).length, { timeout: 15_000 }).toBe(0);
  });

  it("keeps a keepAlive session through a disconnect and lets the client reconnect", async () => {
    const session = await t.bb.sessions.create({ keepAlive: true });
    const first = await chromium.connectOverCDP(session.connectUrl);
    const page = first.contexts()[0].pages()[0] ?? (await first.contexts()[0].newPage());
    await page.goto(`${t.pages.url}/kept`);
    await first.close();
    await new Promise((resolve) => setTimeout(resolve, 3000)); // longer than the nodes' idle grace here
    expect((await t.bb.sessions.retrieve(session.id)).status).toBe("RUNNING");
    const second = await chromium.connectOverCDP(session.connectUrl);
    const urls = second.contexts()[0].pages().map((p) => p.url());
    expect(urls).toContain(`${t.pages.url}/kept`);
    await t.bb.sessions.update(session.id, { status: "REQUEST_RELEASE" });
    await expect.poll(() => second.isConnected(), { timeout: 15_000 }).toBe(false);
    await expect.poll(async () => (await sessionProcesses(t.platform, session.id)).length, { timeout: 15_000 }).toBe(0);
  });

  it("marks the session ERROR when Chromium dies, after closing clients with a reason", async () => {
    const session = await t.bb.sessions.create({ keepAlive: true });
    const watcher = watchClose(session.connectUrl);
    await watcher.opened;
    const chromiums = (await sessionProcesses(t.platform, session.id)).filter((pid) => processName(pid) === "chromium");
    expect(chromiums.length).toBeGreaterThan(0);
    for (const pid of chromiums) process.kill(pid, "SIGKILL");
    const close = await watcher.closed;
    expect(close.code).toBe(1011);
    expect(close.reason).toMatch(/crash/i);
    await expect.poll(async () => (await t.bb.sessions.retrieve(session.id)).status, { timeout: 20_000 }).toBe("ERROR");
    await expect.poll(async () => (await sessionProcesses(t.platform, session.id)).length, { timeout: 15_000 }).toBe(0);
  });

  it("times a session out at expiresAt: TIMED_OUT, clients told, node gone", async () => {
    const close = await timingOutClose;
    expect(close.code).toBeGreaterThanOrEqual(4000);
    expect(close.reason).toMatch(/time/i);
    await expect.poll(async () => (await t.bb.sessions.retrieve(timingOut.id)).status, { timeout: 20_000 }).toBe("TIMED_OUT");
    await expect.poll(async () => (await sessionProcesses(t.platform, timingOut.id)).length, { timeout: 15_000 }).toBe(0);
  }, 120_000);
});
