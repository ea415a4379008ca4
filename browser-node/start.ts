/**
 * The node's command (`node dist/browser-node/start.mjs` in the image and locally): it sets how
 * V8 compiles the node, by the member's role, before it loads the node itself (main.ts, the
 * bundle main.mjs beside this file), since the mode applies to code V8 has not parsed yet.
 *
 * A warm member compiles all of the node at load, while no session waits, and keeps that bytecode
 * while it idles (V8 would otherwise flush what has not run for a while): an assignment then runs
 * compiled code instead of compiling the session's path as it goes: about half the node's CPU
 * per assignment, for ~45 ms more boot and a few MB of RSS (docs/pool.md has the figures). Once
 * assigned, flushing is on again (main.ts). A reserved member (the cold path) compiles lazily as
 * usual: its session waits for its boot.
 */
import { setFlagsFromString } from "node:v8";
import { NodeEnv } from "../edge/node-protocol.ts";

if (process.env[NodeEnv.reserved]?.trim() !== "1") setFlagsFromString("--no-lazy --no-flush-bytecode");
// From source (tsx) the sibling is main.ts; bundled, main.mjs.
await import(new URL(import.meta.url.endsWith(".ts") ? "./main.ts" : "./main.mjs", import.meta.url).href);
