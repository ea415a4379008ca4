import { createLocalJWKSet, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { CDP_TOKEN_AUDIENCE, LINK_TOKEN_AUDIENCE, NODE_TOKEN_AUDIENCE, NodeEnv, POOL_LINK_TOKEN_AUDIENCE, TOKEN_ISSUER } from "../../edge/node-protocol.ts";
import { api, call, callsFor, checkSessionShape, newExtension, newProject, nextLaunch, readyNode, standInCalls, startSession } from "./helpers.ts";

describe("a session's life through the API", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  const known = new Set<string>();
  beforeAll(async () => {
    project = await newProject({ name: "lifecycle", concurrency: 10, defaultTimeout: 600 });
  });

  it("creates: RunTask as specified, waits for ready, answers the Browserbase shape", async () => {
    const before = Date.now();
    const { created, node } = await startSession(project.key, project.projectId, { timeout: 120, userMetadata: { a: 1 }, unknownKey: true }, known);
    expect(created.status).toBe(201);
    const s = created.body;
    checkSessionShape(s, { connect: true });
    expect(s).toMatchObject({ id: node.sessionId, projectId: project.projectId, status: "RUNNING", keepAlive: false, proxyBytes: 0, region: "us-east-1", userMetadata: { a: 1 } });
    expect(Date.parse(s.expiresAt) - Date.parse(s.createdAt)).toBe(120_000);
    expect(Date.parse(s.createdAt)).toBeGreaterThanOrEqual(before - 5);
    // CONNECT_MODE=edge (the default): CDP goes through the edge, at the URL the node dials too.
    expect(s.connectUrl).toBe(`ws://edge.test/cdp/${s.id}?signingKey=${s.signingKey}`);
    expect(s.seleniumRemoteUrl).toBe(`http://edge.test/cdp/${s.id}/webdriver`);

    // The CDP token: verifies with the published JWKS, pinned claims, exp = expiresAt.
    const jwks = createLocalJWKSet((await call("/.well-known/jwks.json")).body);
    const { payload, protectedHeader } = await jwtVerify(s.signingKey, jwks, { issuer: TOKEN_ISSUER, audience: CDP_TOKEN_AUDIENCE, algorithms: ["ES256"] });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({ sub: s.id, pid: project.projectId, exp: Math.floor(Date.parse(s.expiresAt) / 1000) });

    // RunTask: FARGATE, awsvpc, clientToken = session id, startedBy without ':', the node's env.
    const run = node.runTask;
    expect(run.signedBy).toBeTruthy();
    expect(run.clientToken).toBe(s.id);
    expect(run.body).toMatchObject({
      cluster: "wallcrawler",
      taskDefinition: "wallcrawler-browser-node",
      launchType: "FARGATE",
      count: 1,
      startedBy: `wc-${s.id}`,
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-test"], securityGroups: ["sg-test"], assignPublicIp: "ENABLED" } },
    });
    expect(run.body.overrides.containerOverrides[0].name).toBe("browser-node");
    // The member boots without the session (a reserved one, the cold path: no member was warm).
    expect(Object.keys(node.env).sort()).toEqual([NodeEnv.bootstrapToken, NodeEnv.edgeUrl, NodeEnv.memberId, NodeEnv.pool, NodeEnv.reserved].sort());
    expect(node.env).toMatchObject({ [NodeEnv.edgeUrl]: "http://edge.test", [NodeEnv.pool]: "us-east-1", [NodeEnv.memberId]: s.id, [NodeEnv.reserved]: "1" });
    const bootClaims = await jwtVerify(node.env[NodeEnv.bootstrapToken], jwks, { issuer: TOKEN_ISSUER, audience: POOL_LINK_TOKEN_AUDIENCE, algorithms: ["ES256"] });
    expect(bootClaims.payload).toMatchObject({ sub: s.id, pool: "us-east-1" });
    // The session's part came over the pool link.
    expect(node.assignment).toEqual({
      sessionId: s.id,
      projectId: project.projectId,
      expiresAt: Date.parse(s.expiresAt),
      keepAlive: false,
      connectMode: "edge",
      browserSettings: {},
      proxies: [],
      linkToken: node.linkToken,
      jwks: expect.objectContaining({ keys: [expect.objectContaining({ kty: "EC", crv: "P-256" })] }),
    });
    expect(node.assignment.jwks.keys[0].d).toBeUndefined();
    // Neither session token is in RunTask; the node token comes over the session link.
    expect(JSON.stringify(run.body)).not.toContain(node.nodeToken);
    expect(JSON.stringify(run.body)).not.toContain(node.linkToken);
    const linkClaims = await jwtVerify(node.linkToken, jwks, { issuer: TOKEN_ISSUER, audience: LINK_TOKEN_AUDIENCE, algorithms: ["ES256"] });
    expect(linkClaims.payload.sub).toBe(s.id);
    const nodeClaims = await jwtVerify(node.nodeToken, jwks, { issuer: TOKEN_ISSUER, audience: NODE_TOKEN_AUDIENCE, algorithms: ["ES256"] });
    expect(nodeClaims.payload.sub).toBe(s.id);

    const retrieved = await api(project.key, "GET", `/v1/sessions/${s.id}`);
    expect(retrieved.status).toBe(200);
    checkSessionShape(retrieved.body, { connect: true });
    expect(retrieved.body).toEqual(s);
  });

  it("takes its defaults from the project and passes settings to the node", async () => {
    const extensionId = await newExtension(project.key);
    const contextId = (await api(project.key, "POST", "/v1/contexts", {})).body.id;
    const body = {
      keepAlive: true,
      region: "eu-central-1",
      extensionId,
      browserSettings: { viewport: { width: 1280, height: 720 }, context: { id: contextId, persist: true }, futureFlag: "kept" },
      proxies: true,
    };
    const { created, node } = await startSession(project.key, project.projectId, body, known);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ keepAlive: true, region: "eu-central-1", contextId });
    expect(Date.parse(created.body.expiresAt) - Date.parse(created.body.createdAt)).toBe(600_000);
    expect(node.assignment.browserSettings).toEqual({ ...body.browserSettings, extensionId });
    expect(node.assignment.keepAlive).toBe(true);
  });

  it("accepts a bodyless POST with a JSON content type", async () => {
    const created = call("/v1/sessions", { method: "POST", headers: { "X-BB-API-Key": project.key, "content-type": "application/json" } });
    await readyNode(await nextLaunch(project.projectId, known));
    expect((await created).status).toBe(201);
  });

  it.each([
    [{ timeout: 59 }, /^timeout: /],
    [{ timeout: 21601 }, /^timeout: /],
    [{ timeout: "60" }, /^timeout: /],
    [{ region: "mars-1" }, /^region: /],
    [{ keepAlive: "yes" }, /^keepAlive: /],
    [{ userMetadata: [1] }, /^userMetadata: /],
    [{ browserSettings: { viewport: { width: 99 } } }, /^browserSettings\.viewport\.width: /],
    [{ browserSettings: { os: "amiga" } }, /^browserSettings\.os: /],
  ])("refuses %j with a 400 naming the field, starting nothing", async (body, message) => {
    const before = (await standInCalls()).length;
    const res = await api(project.key, "POST", "/v1/sessions", body);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(message);
    expect((await standInCalls()).length).toBe(before);
  });

  it("refuses malformed JSON and a projectId of another project", async () => {
    const malformed = await call("/v1/sessions", { method: "POST", headers: { "X-BB-API-Key": project.key, "content-type": "application/json" }, body: "{" });
    expect(malformed).toMatchObject({ status: 400, body: { message: expect.stringMatching(/JSON/) } });
    const other = await api(project.key, "POST", "/v1/sessions", { projectId: crypto.randomUUID() });
    expect(other).toMatchObject({ status: 403, body: { message: "projectId does not match the API key's project" } });
  });

  it("releases: COMPLETED with endedAt, StopTask, no connection fields; again is not an error", async () => {
    const { created } = await startSession(project.key, project.projectId, { userMetadata: { release: "me" } }, known);
    const id = created.body.id;
    const released = await api(project.key, "POST", `/v1/sessions/${id}`, { status: "REQUEST_RELEASE", projectId: project.projectId });
    expect(released.status).toBe(200);
    checkSessionShape(released.body, { connect: false });
    expect(released.body).toMatchObject({ id, status: "COMPLETED", userMetadata: { release: "me" } });
    expect(Date.parse(released.body.endedAt)).toBeGreaterThanOrEqual(Date.parse(released.body.createdAt));
    const stops = (await callsFor(id)).filter((c) => c.action === "StopTask");
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ status: 200, body: { cluster: "wallcrawler", reason: expect.stringContaining("released") } });
    const again = await api(project.key, "POST", `/v1/sessions/${id}`, { status: "REQUEST_RELEASE" });
    expect(again).toMatchObject({ status: 200, body: { status: "COMPLETED", endedAt: released.body.endedAt } });
    const retrieved = await api(project.key, "GET", `/v1/sessions/${id}`);
    checkSessionShape(retrieved.body, { connect: false });
    expect((await api(project.key, "POST", `/v1/sessions/${id}`, { status: "RUNNING" })).body.message).toMatch(/^status: /);
    expect((await api(project.key, "POST", `/v1/sessions/${id}`, {})).body.message).toMatch(/^status: /);
  });

  it("lists newest first, by status and by user metadata (nested too)", async () => {
    const listing = await newProject({ name: "listing" });
    const mine = new Set<string>();
    const a = (await startSession(listing.key, listing.projectId, { userMetadata: { team: "red", run: { id: "r1" } } }, mine)).created.body;
    const b = (await startSession(listing.key, listing.projectId, { userMetadata: { team: "blue", n: 3 } }, mine)).created.body;
    await api(listing.key, "POST", `/v1/sessions/${a.id}`, { status: "REQUEST_RELEASE" });
    const all = await api(listing.key, "GET", "/v1/sessions");
    expect(all.status).toBe(200);
    expect(all.body.map((s: { id: string }) => s.id)).toEqual([b.id, a.id]);
    for (const s of all.body) checkSessionShape(s, { connect: false });
    const running = await api(listing.key, "GET", "/v1/sessions?status=RUNNING");
    expect(running.body.map((s: { id: string }) => s.id)).toEqual([b.id]);
    const completed = await api(listing.key, "GET", "/v1/sessions?status=COMPLETED");
    expect(completed.body.map((s: { id: string }) => s.id)).toEqual([a.id]);
    const q = (expr: string) => api(listing.key, "GET", `/v1/sessions?q=${encodeURIComponent(expr)}`);
    expect((await q("user_metadata['team']:'blue'")).body.map((s: { id: string }) => s.id)).toEqual([b.id]);
    expect((await q(`user_metadata['run']['id']:"r1"`)).body.map((s: { id: string }) => s.id)).toEqual([a.id]);
    expect((await q("user_metadata['n']:'3'")).body.map((s: { id: string }) => s.id)).toEqual([b.id]);
    expect((await q("user_metadata['team']:'green'")).body).toEqual([]);
    expect((await q("team=blue")).status).toBe(400);
    expect((await api(listing.key, "GET", "/v1/sessions?status=DONE")).body.message).toMatch(/^status: /);
  });

  it("answers JSON 404 for unknown sessions and routes, 501 for parts not built", async () => {
    expect(await api(project.key, "GET", `/v1/sessions/${crypto.randomUUID()}`)).toMatchObject({ status: 404, body: { message: "Session not found" } });
    expect(await api(project.key, "GET", "/v1/sessions/not-a-uuid")).toMatchObject({ status: 404, body: { message: "Session not found" } });
    expect((await api(project.key, "GET", "/v1/nothing-here")).status).toBe(404);
    for (const [method, path] of [
      ["GET", `/v1/sessions/${crypto.randomUUID()}/replays`],
      ["GET", `/v1/sessions/${crypto.randomUUID()}/replays/0`],
      ["POST", `/v1/sessions/${crypto.randomUUID()}/recording/downloads`],
      ["GET", `/v1/sessions/${crypto.randomUUID()}/recording/downloads`],
    ]) {
      const res = await api(project.key, method, path);
      expect(res.status, `${method} ${path}`).toBe(501);
      expect(res.body.message).toMatch(/^Not implemented yet: /);
    }
    expect((await call(`/v1/sessions/${crypto.randomUUID()}/replays`, { method: "GET" })).status).toBe(401);
  });
});
