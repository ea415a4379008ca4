/**
 * Stagehand 4.4, unmodified, through the whole local platform: it uploads its own extension,
 * creates a session with it, connects (and its extension, inside Chromium, connects back to the
 * same connectUrl), goes to a local page, reads its title and closes, which releases the session
 * and deletes the extension. No model key. Stagehand runs in a child process (fixtures/
 * stagehand-run.ts) because it needs a WebSocket global that Node 20 has only behind a flag.
 */
import Browserbase from "@browserbasehq/sdk";
import { describe, expect, it } from "vitest";
import { sessionProcesses, usePlatform } from "./helpers.ts";
import { runFixture } from "./fixtures/run-fixture.ts";

const runStagehand = (env: Record<string, string>) => runFixture("stagehand-run.ts", env, 100_000);

describe("Stagehand 4.4 against the local platform", () => {
  const t = usePlatform();

  it("launches, goes to a page, reads its title, and closes: session COMPLETED, extension deleted", async () => {
    const { code, report, stderr } = await runStagehand({
      WC_TEST_EDGE_URL: t.platform.edgeUrl,
      WC_TEST_API_KEY: t.platform.apiKey,
      WC_TEST_PAGE_URL: `${t.pages.url}/stagehand`,
    });
    expect(report.error, `${JSON.stringify(report)}\n${stderr.slice(-3000)}`).toBeUndefined();
    expect(code).toBe(0);
    expect(report.title).toBe("page /stagehand");
    expect(report.closed).toBe(true);

    const calls = report.calls as Array<{ method: string; path: string; status: number; id?: string }>;
    const extension = calls.find((c) => c.method === "POST" && c.path === "/v1/extensions");
    const created = calls.find((c) => c.method === "POST" && c.path === "/v1/sessions");
    expect(extension?.status).toBe(201);
    expect(created?.id).toBe(report.sessionId);
    expect(calls).toContainEqual({ method: "POST", path: `/v1/sessions/${report.sessionId}`, status: 200 });
    expect(calls).toContainEqual({ method: "DELETE", path: `/v1/extensions/${extension!.id}`, status: 204 });

    const bb = new Browserbase({ apiKey: t.platform.apiKey, baseURL: t.platform.edgeUrl, maxRetries: 0 });
    await expect.poll(async () => (await bb.sessions.retrieve(report.sessionId)).status, { timeout: 20_000 }).toBe("COMPLETED");
    expect((await bb.sessions.retrieve(report.sessionId)).userMetadata).toMatchObject({ stagehand: "true" });
    await expect(bb.extensions.retrieve(extension!.id!)).rejects.toMatchObject({ status: 404 });
    await expect.poll(async () => (await sessionProcesses(t.platform, report.sessionId)).length, { timeout: 20_000 }).toBe(0);
  });
});
