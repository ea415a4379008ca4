/**
 * What goes into the node's bundle decides how fast a node boots, and a cold create waits for that
 * boot: zod alone adds ~35 ms to it. The edge's schemas stay on the edge; the node checks the little
 * it reads by hand (config.ts, auth.ts). (global-setup.ts has just run the build.)
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/node-process.ts";

/** The modules both sides import: constants, types and pure functions only. */
const SHARED_WITH_THE_EDGE = ["edge/node-protocol.ts", "edge/browser-settings.ts", "edge/egress-rules.ts", "edge/file-names.ts", "edge/cdp-token.ts", "edge/retries.ts"];
const sources: string[] = JSON.parse(readFileSync(`${ROOT}dist/browser-node/main.mjs.map`, "utf8")).sources;

describe("the browser-node bundle", () => {
  it("holds the node's own code and its few runtime libraries", () => {
    expect(sources.some((s) => s.endsWith("browser-node/main.ts"))).toBe(true);
    expect(sources.some((s) => s.endsWith("edge/node-protocol.ts"))).toBe(true);
    expect(sources.some((s) => /node_modules\/(ws|jose)\//.test(s))).toBe(true);
  });

  it("carries no schema library and nothing else of the edge", () => {
    expect(sources.filter((s) => /node_modules\/(zod|@hono|hono)\//.test(s))).toEqual([]);
    expect(sources.filter((s) => s.includes("edge/") && !SHARED_WITH_THE_EDGE.some((shared) => s.endsWith(shared)))).toEqual([]);
  });
});
