import { beforeAll, describe, expect, it } from "vitest";
import { api, newProject, startSession } from "./helpers.ts";

describe("the node link", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  beforeAll(async () => {
    project = await newProject({ name: "link", concurrency: 20 });
  });

  it("welcomes the node, takes its ready, and tells it the end", async () => {
    const { created, node } = await startSession(project.key, project.projectId);
    expect(created.body.connectUrl).toBe(`ws://edge.test/cdp/${node.sessionId}?signingKey=${created.body.signingKey}`);
    expect(node.nodeToken).toBeTruthy();
    await api(project.key, "POST", `/v1/sessions/${node.sessionId}`, { status: "REQUEST_RELEASE" });
    expect(await node.link.next((m) => m.t === "end")).toEqual({ t: "end", reason: "released", detail: "released by request" });
  });
});
