import Browserbase from "@browserbasehq/sdk";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalPlatform } from "../../browser-node/local/platform.ts";
import { reservedTasks, sessionProcesses, startPlatform } from "./helpers.ts";

/** Resolves with the HTTP status of a refused upgrade, or "open" when the socket opened. */
function tryConnect(url: string): Promise<number | "open"> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once("open", () => {
      socket.close();
      resolve("open");
    });
    socket.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("error", () => {});
  });
}

const LIMIT = 10;

describe("ten sessions at once", () => {
  let platform: LocalPlatform;
  let bb: Browserbase;
  beforeAll(async () => {
    platform = await startPlatform({ concurrency: LIMIT });
    bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl, maxRetries: 0 });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it("starts all ten, isolates their keys, refuses the eleventh, and leaves nothing behind", async () => {
    const sessions = await Promise.all(Array.from({ length: LIMIT }, () => bb.sessions.create({ keepAlive: true })));
    expect(new Set(sessions.map((s) => s.id)).size).toBe(LIMIT);
    expect(sessions.every((s) => s.status === "RUNNING")).toBe(true);

    // Each session opens with its own key and refuses its neighbour's.
    for (const [i, session] of sessions.entries()) {
      const neighbour = sessions[(i + 1) % sessions.length];
      expect(await tryConnect(session.connectUrl)).toBe("open");
      const url = new URL(session.connectUrl);
      url.searchParams.set("signingKey", neighbour.signingKey);
      expect(await tryConnect(url.toString())).toBe(401);
    }

    const reserved = reservedTasks(platform);
    const over = await fetch(`${platform.edgeUrl}/v1/sessions`, {
      method: "POST",
      headers: { "X-BB-API-Key": platform.apiKey, "content-type": "application/json" },
      body: "{}",
    });
    expect(over.status).toBe(429);
    expect(((await over.json()) as { message: string }).message).toMatch(/concurren/i);
    expect(reservedTasks(platform)).toBe(reserved); // the refused create started nothing

    await Promise.all(sessions.map((s) => bb.sessions.update(s.id, { status: "REQUEST_RELEASE" })));
    for (const s of sessions)
      await expect.poll(async () => (await bb.sessions.retrieve(s.id)).status, { timeout: 30_000 }).toBe("COMPLETED");
    // Nothing of the ten is left (the warm pool's members, no session's, stay).
    for (const s of sessions) await expect.poll(async () => (await sessionProcesses(platform, s.id)).length, { timeout: 30_000 }).toBe(0);
  }, 240_000);
});
