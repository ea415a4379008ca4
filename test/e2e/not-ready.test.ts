import Browserbase from "@browserbasehq/sdk";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { LocalPlatform } from "../../browser-node/local/platform.ts";
import { platformProcesses, startPlatform } from "./helpers.ts";

// A node that cannot become ready: its create fails clearly, nothing is left running, and the
// SDK's automatic retries (it retries 5xx and timeouts twice) start no extra node.
describe("a node that never becomes ready", () => {
  const platforms: LocalPlatform[] = [];
  afterAll(async () => {
    await Promise.all(platforms.map((p) => p.stop()));
  });

  const fakeBrowser = (script: string) => {
    const dir = mkdtempSync(join(tmpdir(), "wc-fake-browser-"));
    const path = join(dir, "not-chromium");
    writeFileSync(path, `#!/bin/sh\n${script}\n`);
    chmodSync(path, 0o755);
    return path;
  };

  // The cold path: with such a browser no pool member ever gets warm, so these run without a pool.
  it("fails fast when the browser cannot start", async () => {
    const platform = await startPlatform({ warmPoolSize: 0, nodeEnv: { WC_CHROMIUM_PATH: fakeBrowser("echo 'not a browser' >&2; exit 3") } });
    platforms.push(platform);
    const bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl });
    const error = await bb.sessions.create({}).catch((e) => e);
    expect(error).toBeInstanceOf(Browserbase.APIError);
    expect(error.message).toMatch(/start|ready|browser/i);
    expect(platform.standIn.tasks.size).toBe(1);
    const [task] = platform.standIn.tasks.values();
    await expect.poll(() => task.lastStatus, { timeout: 15_000 }).toBe("STOPPED");
    expect(platformProcesses(platform).length).toBe(0);
    const [session] = await bb.sessions.list();
    expect(session.status).toBe("ERROR");
  });

  it("gives up at the start deadline when the browser hangs, and stops the task", async () => {
    const platform = await startPlatform({
      warmPoolSize: 0,
      nodeEnv: { WC_CHROMIUM_PATH: fakeBrowser("exec sleep 600") },
      vars: { SESSION_START_TIMEOUT_SECONDS: "5" },
    });
    platforms.push(platform);
    const bb = new Browserbase({ apiKey: platform.apiKey, baseURL: platform.edgeUrl });
    const error = await bb.sessions.create({}).catch((e) => e);
    expect(error).toBeInstanceOf(Browserbase.APIError);
    expect(platform.standIn.tasks.size).toBe(1);
    const [task] = platform.standIn.tasks.values();
    await expect.poll(() => task.lastStatus, { timeout: 20_000 }).toBe("STOPPED");
    expect(task.stopCode).toBe("UserInitiated");
    await expect.poll(() => platformProcesses(platform).length, { timeout: 15_000 }).toBe(0);
  });
});
