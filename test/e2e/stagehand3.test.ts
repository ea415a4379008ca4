/**
 * Stagehand 3 (3.7.3), unmodified, through the edge: the test creates a session with the SDK and
 * hands its connectUrl to Stagehand 3 as `cdpUrl`; Stagehand 3 opens it as a WebSocket itself,
 * goes to a local page, reads it with page-level calls (no model) and closes its connection. The
 * session's CDP log, kept by the node, shows Stagehand's own commands: they went through the edge
 * to the real browser. Stagehand runs in a child process, as 4.4 does (stagehand.test.ts).
 */
import { describe, expect, it } from "vitest";
import { sessionProcesses, usePlatform } from "./helpers.ts";
import { runFixture } from "./fixtures/run-fixture.ts";

const runStagehand3 = (env: Record<string, string>) => runFixture("stagehand3-run.ts", env, 90_000);

describe("Stagehand 3 through the edge", () => {
  const t = usePlatform();

  it("attaches with a session's connectUrl, goes to a page, reads it, and its commands reach the browser", async () => {
    const session = await t.bb.sessions.create({ projectId: t.platform.projectId });
    // Edge mode: the connectUrl is the edge's own, not the node's.
    expect(session.connectUrl.startsWith(`${t.platform.edgeUrl.replace(/^http/, "ws")}/cdp/${session.id}?`)).toBe(true);
    const page = `${t.pages.url}/stagehand3`;

    const { code, report, stderr } = await runStagehand3({ WC_TEST_CONNECT_URL: session.connectUrl, WC_TEST_PAGE_URL: page });
    expect(report.error, `${JSON.stringify(report)}\n${stderr.slice(-3000)}`).toBeUndefined();
    expect(code).toBe(0);
    expect(report.cdpUrl).toBe(session.connectUrl);
    expect(report.title).toBe("page /stagehand3");
    expect(report.heading).toBe("hello from /stagehand3");
    expect(report.href).toBe(page);
    expect(report.closed).toBe(true);

    // Stagehand only closed its connection: the session runs until it is released.
    expect((await t.bb.sessions.retrieve(session.id)).status).toBe("RUNNING");
    await t.bb.sessions.update(session.id, { status: "REQUEST_RELEASE", projectId: t.platform.projectId });
    // The node ships its log before it exits: once its processes are gone, the log is whole.
    await expect.poll(async () => (await sessionProcesses(t.platform, session.id)).length, { timeout: 30_000 }).toBe(0);
    expect((await t.bb.sessions.retrieve(session.id)).status).toBe("COMPLETED");
    const logs = await t.bb.sessions.logs.list(session.id);
    expect(logs.some((e) => e.method === "Page.navigate" && (e.request?.params as { url?: string } | undefined)?.url === page)).toBe(true);
  });
});
