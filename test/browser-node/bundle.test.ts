/**
 * What goes into the node's bundle decides how fast a node boots, and a cold create waits for that
 * boot: zod alone adds ~35 ms to it. The edge's schemas stay on the edge; the node checks the little
 * it reads by hand (config.ts, auth.ts). (global-setup.ts has just run the build.)
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { NodeEnv } from "../../edge/node-protocol.ts";
import { BUNDLE, ROOT } from "./support/node-process.ts";

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

/**
 * The bytecode V8 holds once the node has loaded (the process leaves at once: its environment names
 * no edge), read by a module preloaded into it: start.mjs compiles a warm member at load, a
 * reserved one lazily.
 */
function bytecodeAtExit(env: Record<string, string>): number {
  const probe = `data:text/javascript,${encodeURIComponent(
    'import v8 from "node:v8"; process.on("exit", () => process.stderr.write(`bytecode=${v8.getHeapCodeStatistics().bytecode_and_metadata_size}\\n`));',
  )}`;
  const run = spawnSync(process.execPath, ["--import", probe, BUNDLE], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" });
  expect(run.status).toBe(2); // the refused configuration: the program was loaded
  return Number(/bytecode=(\d+)/.exec(run.stderr)![1]);
}

describe("the node's command, start.mjs", () => {
  it("compiles a warm member's node as it loads and leaves a reserved member's to compile lazily", () => {
    const warm = bytecodeAtExit({});
    const reserved = bytecodeAtExit({ [NodeEnv.reserved]: "1" });
    expect(warm).toBeGreaterThan(2 * reserved);
  });
});
