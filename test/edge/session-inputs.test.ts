/**
 * What a client may send to the session routes, and where it stops: an update must say
 * REQUEST_RELEASE, user metadata and browser settings are bounded (in UTF-8 bytes of what is
 * stored or sent), the list is bounded, and settings not acted on yet are kept as sent.
 */
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { SessionRecord } from "../../edge/sessions/session-record.ts";
import { api, call, callsFor, env, newProject, sessionObject, standInCalls, startSession } from "./helpers.ts";

const utf8 = (s: string) => new TextEncoder().encode(s).length;

describe("session inputs", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  const known = new Set<string>();
  beforeAll(async () => {
    project = await newProject({ name: "inputs", concurrency: 20 });
  });

  it("refuses an update that does not say REQUEST_RELEASE with a 4xx, and the session keeps running", async () => {
    const { created } = await startSession(project.key, project.projectId, {}, known);
    const id = created.body.id;
    const path = `/v1/sessions/${id}`;
    const key = { "X-BB-API-Key": project.key };
    const attempts: [string, RequestInit, number][] = [
      ["no body, no content type", { method: "POST", headers: key }, 400],
      ["a JSON content type and no body", { method: "POST", headers: { ...key, "content-type": "application/json" } }, 400],
      ["an empty object", { method: "POST", headers: { ...key, "content-type": "application/json" }, body: "{}" }, 400],
      ["another status", { method: "POST", headers: { ...key, "content-type": "application/json" }, body: '{"status":"COMPLETED"}' }, 400],
      ["the status in lower case", { method: "POST", headers: { ...key, "content-type": "application/json" }, body: '{"status":"request_release"}' }, 400],
      ["not JSON", { method: "POST", headers: { ...key, "content-type": "text/plain" }, body: '{"status":"REQUEST_RELEASE"}' }, 415],
      ["a JSON body without a content type", { method: "POST", headers: key, body: '{"status":"REQUEST_RELEASE"}' }, 415],
    ];
    for (const [what, init, status] of attempts) {
      const res = await call(path, init);
      expect(res.status, what).toBe(status);
      expect(Object.keys(res.body), what).toEqual(["message"]);
      if (status === 400) expect(res.body.message, what).toMatch(/^status: .*REQUEST_RELEASE/);
      expect((await api(project.key, "GET", path)).body.status, what).toBe("RUNNING");
    }
    expect((await callsFor(id)).filter((c) => c.action === "StopTask")).toHaveLength(0);

    const released = await api(project.key, "POST", path, { status: "REQUEST_RELEASE" });
    expect(released).toMatchObject({ status: 200, body: { id, status: "COMPLETED" } });
  });

  it("bounds userMetadata at 16 KiB of UTF-8 JSON, counting multibyte characters as their bytes", async () => {
    // {"k":"<s>"} is 8 bytes around s.
    const atLimit = { k: "é".repeat((16384 - 8) / 2) };
    expect(utf8(JSON.stringify(atLimit))).toBe(16384);
    const { created } = await startSession(project.key, project.projectId, { userMetadata: atLimit }, known);
    expect(created.status).toBe(201);
    expect((await api(project.key, "GET", `/v1/sessions/${created.body.id}`)).body.userMetadata).toEqual(atLimit);

    const before = (await standInCalls()).length;
    // 8,197 characters but 16,386 bytes: over.
    for (const userMetadata of [{ k: "é".repeat((16384 - 8) / 2 + 1) }, { k: "x".repeat(16384) }]) {
      const res = await api(project.key, "POST", "/v1/sessions", { userMetadata });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ message: "userMetadata: larger than 16384 bytes as JSON" });
    }
    expect((await standInCalls()).length).toBe(before);
  });

  it("bounds browserSettings at 16 KiB of UTF-8 JSON (they travel in the assignment, not in RunTask)", async () => {
    // {"f":"<s>"} is 8 bytes around s: 16,384 bytes in all with 8,188 two-byte characters.
    const fits = { f: "é".repeat(8188) };
    expect(utf8(JSON.stringify(fits))).toBe(16384);
    const { created, node } = await startSession(project.key, project.projectId, { browserSettings: fits }, known);
    expect(created.status).toBe(201);
    expect(node.assignment.browserSettings).toEqual(fits);
    // RunTask carries only the member's boot environment, far below ECS's 8 KiB of overrides.
    expect(utf8(JSON.stringify(node.runTask.body.overrides))).toBeLessThanOrEqual(2048);

    const before = (await standInCalls()).length;
    const over = await api(project.key, "POST", "/v1/sessions", { browserSettings: { f: "é".repeat(8189) } });
    expect(over).toMatchObject({ status: 400, body: { message: "browserSettings: larger than 16384 bytes as JSON" } });
    expect((await standInCalls()).length).toBe(before);
  });

  it("keeps the settings as sent, and answers them on create and retrieve (proxy passwords masked)", async () => {
    const browserSettings = {
      blockAds: true,
      solveCaptchas: false,
      ignoreCertificateErrors: true,
      advancedStealth: true,
      os: "mac",
      allowedDomains: ["example.com"],
      viewport: { width: 1024, height: 768 },
    };
    const proxies = [
      { type: "external", server: "http://proxy-user:url-secret@127.0.0.1:3128", username: "u", password: "secret", domainPattern: ".*" },
      { type: "browserbase", geolocation: { country: "US" } },
      { type: "none", domainPattern: "internal" },
    ];
    const masked = [{ ...proxies[0], server: "http://proxy-user:[redacted]@127.0.0.1:3128", password: "[redacted]" }, proxies[1], proxies[2]];
    const { created } = await startSession(project.key, project.projectId, { browserSettings, proxies }, known);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ browserSettings, proxies: masked, proxyBytes: 0 });
    const retrieved = await api(project.key, "GET", `/v1/sessions/${created.body.id}`);
    expect(retrieved.body).toMatchObject({ browserSettings, proxies: masked });
    expect(JSON.stringify(retrieved.body)).not.toContain("secret");
    // The record keeps them whole (the node gets them as routes: egress.test.ts).
    const record = await runInDurableObject(sessionObject(created.body.id), (_o, state) => state.storage.kv.get<SessionRecord>("session")!);
    expect(record).toMatchObject({ browserSettings, proxies });

    const withTrue = await startSession(project.key, project.projectId, { proxies: true }, known);
    expect((await api(project.key, "GET", `/v1/sessions/${withTrue.created.body.id}`)).body.proxies).toBe(true);
    // The list keeps Browserbase's Session shape.
    const listed = (await api(project.key, "GET", "/v1/sessions")).body.find((s: { id: string }) => s.id === created.body.id);
    expect(listed.proxies).toBeUndefined();
    expect(listed.browserSettings).toBeUndefined();
  });

  it.each([
    [{ proxies: "yes" }, /^proxies: Invalid input: expected boolean or array$/],
    [{ proxies: [{ type: "socks" }] }, /^proxies\.0\.type: /],
    [{ proxies: [{ type: "external" }] }, /^proxies\.0\.server: /],
    [{ proxies: [{ type: "external", server: "http://127.0.0.1:1", password: "x".repeat(5000) }] }, /^proxies: larger than 4096 bytes as JSON$/],
  ])("refuses proxies %# with a 400 naming the field", async (body, message) => {
    const res = await api(project.key, "POST", "/v1/sessions", body);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(message);
  });
});

describe("the session list", () => {
  it("answers at most the newest 1000 sessions, filters first, newest first", async () => {
    const p = await newProject({ name: "long list" });
    const base = Date.now() - 10_000_000;
    // 1,100 sessions in the project's index, as their SessionObjects would have reported them.
    await runInDurableObject(env.PROJECTS.getByName(p.projectId), (o) => {
      for (let i = 0; i < 1100; i++) {
        const createdAt = base + i * 1000;
        const id = crypto.randomUUID();
        const iso = new Date(createdAt).toISOString();
        o.indexSession({
          id,
          status: "COMPLETED",
          version: 2,
          createdAt,
          endedAt: createdAt + 500,
          view: {
            id,
            createdAt: iso,
            updatedAt: iso,
            startedAt: iso,
            expiresAt: iso,
            endedAt: iso,
            projectId: p.projectId,
            keepAlive: false,
            proxyBytes: 0,
            region: "us-east-1",
            status: "COMPLETED",
            userMetadata: { i, even: i % 2 === 0 },
          },
        });
      }
    });
    const order = (list: { userMetadata: { i: number } }[]) => list.map((s) => s.userMetadata.i);
    const all = await api(p.key, "GET", "/v1/sessions");
    expect(all.status).toBe(200);
    expect(order(all.body)).toEqual(Array.from({ length: 1000 }, (_, k) => 1099 - k));
    const byStatus = await api(p.key, "GET", "/v1/sessions?status=COMPLETED");
    expect(order(byStatus.body)).toEqual(order(all.body));
    // The filter applies to every session, the bound to what matches: the oldest are still found.
    const odd = await api(p.key, "GET", `/v1/sessions?q=${encodeURIComponent("user_metadata['even']:'false'")}`);
    expect(order(odd.body)).toEqual(Array.from({ length: 550 }, (_, k) => 1099 - 2 * k));
    const oldest = await api(p.key, "GET", `/v1/sessions?q=${encodeURIComponent("user_metadata['i']:'0'")}`);
    expect(order(oldest.body)).toEqual([0]);
  });
});
