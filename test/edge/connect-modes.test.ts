/**
 * CONNECT_MODE=direct: clients go straight to the node's proxy (its address from `ready`, or
 * ECS and EC2 when the node cannot tell), while the link still carries all control. The mode is
 * the Worker's at the create, so these creates go through the app with the var overridden, as
 * `wrangler dev --var CONNECT_MODE:direct` would set it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { FakeNode } from "./fake-node.ts";
import { api, callsFor, createWith, newProject, nextLaunch, readyNode, standInCalls, taskOf, until } from "./helpers.ts";

describe("CONNECT_MODE=direct", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  const known = new Set<string>();
  const direct = { CONNECT_MODE: "direct" };
  beforeAll(async () => {
    project = await newProject({ name: "direct", concurrency: 10 });
  });

  it("points connectUrl and the debug URLs at the node's proxy, asking the node over its link", async () => {
    const creating = createWith(direct, project.key);
    const launched = await nextLaunch(project.projectId, known);
    expect(launched.assignment.connectMode).toBe("direct");
    const node = await readyNode(launched, { direct: { host: "127.0.0.1", port: 9333 } });
    const created = await creating;
    expect(created.status).toBe(201);
    const s = created.body;
    expect(s.connectUrl).toBe(`ws://127.0.0.1:9333?signingKey=${s.signingKey}`);
    expect(s.seleniumRemoteUrl).toBe("http://127.0.0.1:9333/webdriver");
    // The session keeps its mode whatever the Worker's var says later.
    expect((await api(project.key, "GET", `/v1/sessions/${s.id}`)).body.connectUrl).toBe(s.connectUrl);

    const debug = await api(project.key, "GET", `/v1/sessions/${s.id}/debug`);
    expect(debug.status).toBe(200);
    const token = new URL(debug.body.wsUrl.replace(/^ws/, "http")).searchParams.get("signingKey")!;
    expect(debug.body.wsUrl).toBe(`ws://127.0.0.1:9333?signingKey=${token}`);
    expect(debug.body.pages[0].debuggerUrl).toBe(`http://127.0.0.1:9333/devtools/inspector.html?ws=127.0.0.1:9333/devtools/page/PAGE1%3FsigningKey%3D${token}`);
    expect(node.link.calls).toEqual([{ op: "json", path: "/json/list" }]);

    await api(project.key, "POST", `/v1/sessions/${s.id}`, { status: "REQUEST_RELEASE" });
    expect(await node.link.next((m) => m.t === "end")).toMatchObject({ t: "end", reason: "released" });
  });

  it("resolves the node's address through ECS and EC2 when ready names no host", async () => {
    const creating = createWith(direct, project.key);
    const node = await readyNode(await nextLaunch(project.projectId, known), { direct: { port: 9444 } });
    const created = await creating;
    expect(created.body.connectUrl).toMatch(/^ws:\/\/127\.0\.0\.1:9444\?signingKey=/);
    const calls = await callsFor(node.sessionId);
    expect(calls.map((c) => c.action)).toEqual(["RunTask", "DescribeTasks"]);
    const eni = (await taskOf(node.sessionId)).attachments[0].details.find((d: { name: string }) => d.name === "networkInterfaceId").value;
    const ec2 = (await standInCalls()).filter((c) => c.service === "ec2" && c.body["NetworkInterfaceId.1"] === eni);
    expect(ec2).toHaveLength(1);
    expect(ec2[0]).toMatchObject({ action: "DescribeNetworkInterfaces", status: 200, signedBy: expect.any(String) });
  });

  it("fails the create of a node that reports ready without its address", async () => {
    const creating = createWith(direct, project.key);
    const launched = await nextLaunch(project.projectId, known);
    const link = await FakeNode.dial(launched.sessionId, launched.linkToken);
    link.ready();
    const created = await creating;
    expect(created.status).toBe(502);
    expect(created.body.message).toBe("The browser node could not start: ready: CONNECT_MODE is direct, but the node named no address (direct.port)");
    expect(created.headers.get("x-should-retry")).toBe("false");
    // The create is answered first; the task's StopTask follows.
    await until(async () => (await callsFor(launched.sessionId)).some((c) => c.action === "StopTask"), "StopTask");
  });

  it("names a CONNECT_MODE it does not know", async () => {
    const res = await createWith({ CONNECT_MODE: "tunnel" }, project.key);
    expect(res.status).toBe(500);
    expect(res.body.message).toMatch(/^The edge is misconfigured: CONNECT_MODE: /);
  });
});
