/**
 * A local platform that keeps nothing (persist: false) keeps its edge's Durable Objects in memory,
 * and gives them back when it stops: workerd commits a Durable Object's SQLite at the end of each of
 * its turns, on its one thread, and on a disk every commit waited for the disk
 * (browser-node/local/edge-runtime.ts).
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startLocalPlatform } from "../../browser-node/local/platform.ts";

const MEMORY = "/dev/shm";
const objectDirs = () => new Set(readdirSync(MEMORY).filter((name) => name.startsWith("wc-edge-objects-")));

describe.skipIf(!existsSync(MEMORY))("the local platform's Durable Objects", () => {
  it("live in memory while the platform runs and are gone once it stops", async () => {
    const before = objectDirs();
    const platform = await startLocalPlatform({});
    let ours: string[];
    try {
      // The project's object writes its storage on the first call that reaches it.
      const res = await fetch(`${platform.edgeUrl}/v1/sessions`, { headers: { "X-BB-API-Key": platform.apiKey } });
      expect(res.status).toBe(200);
      ours = [...objectDirs()].filter((name) => !before.has(name));
      expect(ours).toHaveLength(1);
      const files = readdirSync(join(MEMORY, ours[0]), { recursive: true }).map(String);
      expect(files.some((f) => f.endsWith(".sqlite"))).toBe(true);
    } finally {
      await platform.stop();
    }
    expect(existsSync(join(MEMORY, ours[0]))).toBe(false);
  });
});
