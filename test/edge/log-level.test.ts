/** LOG_LEVEL: the edge's lines below it are never written, and a level it does not know is named. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, expect, it, vi } from "vitest";
import worker from "../../edge/index.ts";
import { BASE, createWith, env, newProject } from "./helpers.ts";

afterEach(() => vi.restoreAllMocks());

/** An unauthenticated list, answered 401 by the Worker with these vars; the request lines it wrote. */
async function requestLines(vars: Record<string, string>) {
  const written: string[] = [];
  for (const method of ["log", "warn", "error"] as const) vi.spyOn(console, method).mockImplementation((line: string) => void written.push(line));
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}/v1/sessions`), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  expect(res.status).toBe(401);
  vi.restoreAllMocks();
  return written.map((line) => JSON.parse(line)).filter((line) => line.event === "request");
}

it("writes a line per request at info, and none at warn", async () => {
  const info = await requestLines({ LOG_LEVEL: "info" });
  expect(info).toHaveLength(1);
  expect(info[0]).toMatchObject({ level: "info", method: "GET", path: "/v1/sessions", status: 401 });
  expect(await requestLines({ LOG_LEVEL: "warn" })).toEqual([]);
  expect(await requestLines({ LOG_LEVEL: "error" })).toEqual([]);
  // Unset (a wrangler.toml from before the var), the edge logs as at info.
  expect(await requestLines({ LOG_LEVEL: "" })).toHaveLength(1);
});

it("names a LOG_LEVEL it does not know", async () => {
  const project = await newProject();
  const res = await createWith({ LOG_LEVEL: "verbose" }, project.key);
  expect(res.status).toBe(500);
  expect(res.body.message).toMatch(/^The edge is misconfigured: LOG_LEVEL: /);
});
