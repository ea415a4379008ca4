/**
 * The edge's part of the egress: a create's `proxies` become the node's routes (managed ones from
 * MANAGED_PROXIES, set in vitest.config.ts), bad entries are a 400 before any node starts, and the
 * node's `proxyBytes` reports reach the session, its project's list and usage.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { nodeArtifactPath } from "../../edge/node-protocol.ts";
import { api, call, newProject, standInCalls, startSession, until } from "./helpers.ts";

let project: Awaited<ReturnType<typeof newProject>>;
const known = new Set<string>();
beforeAll(async () => {
  project = await newProject({ name: "egress", concurrency: 20 });
});

const usage = (sessionId: string, token: string, body: unknown) =>
  call(nodeArtifactPath(sessionId, "usage"), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });

describe("proxies become the node's routes", () => {
  it("keeps external entries, resolves managed ones by geolocation, and sends none for a session without proxies", async () => {
    const proxies = [
      { type: "external", server: "http://127.0.0.1:3128", username: "u", password: "p", domainPattern: "example\\.com" },
      { type: "browserbase", geolocation: { country: "us" }, domainPattern: ".*\\.gov" },
      { type: "none", domainPattern: "internal" },
      { type: "browserbase" },
    ];
    const { node } = await startSession(project.key, project.projectId, { proxies }, known);
    expect(node.assignment.proxies).toEqual([
      { server: "http://127.0.0.1:3128", username: "u", password: "p", domainPattern: "example\\.com" },
      { server: "http://managed:us-secret@127.0.0.1:3999", managed: true, domainPattern: ".*\\.gov" },
      { domainPattern: "internal" },
      { server: "http://managed:managed-secret@127.0.0.1:3998", managed: true },
    ]);
    const withTrue = await startSession(project.key, project.projectId, { proxies: true }, known);
    expect(withTrue.node.assignment.proxies).toEqual([{ server: "http://managed:managed-secret@127.0.0.1:3998", managed: true }]);
    const without = await startSession(project.key, project.projectId, { browserSettings: { allowedDomains: ["example.com"] } }, known);
    expect(without.node.assignment.proxies).toEqual([]);
    expect(without.node.assignment.browserSettings).toEqual({ allowedDomains: ["example.com"] });
  });

  it.each([
    [{ proxies: [{ type: "browserbase", geolocation: { country: "DE" } }] }, /^proxies\.0: no managed proxy for geolocation DE \(configured: \*, US\)$/],
    [{ proxies: [{ type: "browserbase", geolocation: { country: "US", state: "NY", city: "New York" } }] }, /^proxies\.0: no managed proxy for geolocation US\/NY\/NEW YORK/],
    [{ proxies: [{ type: "browserbase", geolocation: { country: "DE", state: "BY" } }] }, /^proxies\.0\.geolocation\.state: state needs country US$/],
    [{ proxies: [{ type: "browserbase", geolocation: { country: "Germany" } }] }, /^proxies\.0\.geolocation\.country: expected an ISO 3166-1 alpha-2/],
    [{ proxies: [{ type: "external", server: "socks5://127.0.0.1:1080" }] }, /^proxies\.0\.server: socks5: proxies are not supported/],
    [{ proxies: [{ type: "external", server: "http://10.0.0.1:3128" }] }, /^proxies\.0\.server: 10\.0\.0\.1 is a private address$/],
    [{ proxies: [{ type: "external", server: "http://169.254.169.254" }] }, /^proxies\.0\.server: 169\.254\.169\.254 is a link-local address$/],
    [{ proxies: [{ type: "external", server: "http://proxy.example:3128/path" }] }, /^proxies\.0\.server: must have no path/],
    [{ proxies: [{ type: "none", domainPattern: "((" }] }, /^proxies\.0\.domainPattern: not a regular expression/],
    [{ browserSettings: { allowedDomains: [""] } }, /^browserSettings\.allowedDomains\.0: /],
    // Refused at the edge; even past it, this suite's stand-in only records RunTask and starts no node.
  ])("refuses %j with a 400 naming the entry, starting no node", async (body, message) => {
    const before = (await standInCalls()).length;
    const res = await api(project.key, "POST", "/v1/sessions", body);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(message);
    expect((await standInCalls()).length).toBe(before);
  });

  it("sends settings and proxy routes that RunTask's 8 KiB could not carry: they travel in the assignment", async () => {
    const browserSettings = { note: "x".repeat(3500) };
    const proxies = [{ type: "external", server: "http://127.0.0.1:3128", username: "u", password: "y".repeat(3000) }];
    const { created, node } = await startSession(project.key, project.projectId, { browserSettings, proxies }, known);
    expect(created.status).toBe(201);
    expect(node.assignment.browserSettings).toEqual(browserSettings);
    expect(node.assignment.proxies).toEqual([{ server: "http://127.0.0.1:3128", username: "u", password: "y".repeat(3000) }]);
    // Nothing of the session is in the member's boot environment.
    expect(JSON.stringify(node.runTask.body)).not.toContain("y".repeat(3000));
  });
});

describe("proxyBytes", () => {
  it("grows with the node's usage reports, takes the exit's total, and adds up in the project's usage", async () => {
    const p = await newProject({ name: "proxy bytes" });
    const one = await startSession(p.key, p.projectId, { proxies: true }, known);
    const two = await startSession(p.key, p.projectId, { proxies: true }, known);
    const id = one.created.body.id;
    expect(one.created.body.proxyBytes).toBe(0);

    expect(await usage(id, one.node.nodeToken, { proxyBytes: 1000 })).toMatchObject({ status: 200, body: { proxyBytes: 1000 } });
    expect((await api(p.key, "GET", `/v1/sessions/${id}`)).body.proxyBytes).toBe(1000);
    // Totals: an older, smaller report changes nothing.
    expect(await usage(id, one.node.nodeToken, { proxyBytes: 400 })).toMatchObject({ status: 200, body: { proxyBytes: 1000 } });
    const listed = (await api(p.key, "GET", "/v1/sessions")).body.find((s: { id: string }) => s.id === id);
    expect(listed.proxyBytes).toBe(1000);

    // The node's exit, on its link, brings the last total.
    one.node.link.send({ t: "exit", reason: "idle", proxyBytes: 5000 });
    await until(async () => (await api(p.key, "GET", `/v1/sessions/${id}`)).body.status === "COMPLETED", "the exit");
    expect((await api(p.key, "GET", `/v1/sessions/${id}`)).body).toMatchObject({ status: "COMPLETED", proxyBytes: 5000 });
    expect(await usage(two.created.body.id, two.node.nodeToken, { proxyBytes: 700 })).toMatchObject({ status: 200 });
    expect((await api(p.key, "GET", `/v1/projects/${p.projectId}/usage`)).body).toMatchObject({ proxyBytes: 5700 });
  });

  it("refuses a malformed report, and a report with another session's node token", async () => {
    const a = await startSession(project.key, project.projectId, {}, known);
    const b = await startSession(project.key, project.projectId, {}, known);
    for (const body of [{ proxyBytes: -1 }, { proxyBytes: 1.5 }, { proxyBytes: "9" }, {}]) {
      expect((await usage(a.created.body.id, a.node.nodeToken, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await usage(a.created.body.id, b.node.nodeToken, { proxyBytes: 10 })).status).toBe(401);
    expect((await api(project.key, "GET", `/v1/sessions/${a.created.body.id}`)).body.proxyBytes).toBe(0);
    // An exit with a malformed total is an unreadable link message: ignored, so the exit after it
    // is the one that ends the session (had the first ended it, the second would change nothing).
    a.node.link.ws.send(JSON.stringify({ t: "exit", reason: "idle", proxyBytes: -5 }));
    a.node.link.send({ t: "exit", reason: "timed-out", proxyBytes: 3 });
    await until(async () => (await api(project.key, "GET", `/v1/sessions/${a.created.body.id}`)).body.status !== "RUNNING", "the exit");
    expect((await api(project.key, "GET", `/v1/sessions/${a.created.body.id}`)).body).toMatchObject({ status: "TIMED_OUT", proxyBytes: 3 });
  });
});
