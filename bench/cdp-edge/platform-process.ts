/**
 * The local platform in a process of its own, as `npm run dev` runs it: the benchmark's clients
 * then share no event loop with the edge's front door or the stand-in. Prints one JSON line
 * `{"platform": {edgeUrl, apiKey, workerdUrl}}` once it is up, then every node's log line as it
 * comes; stops the platform (nodes first) on SIGTERM or when its stdin closes.
 * `node --import tsx platform-process.ts`
 */
import { startLocalPlatform } from "../../browser-node/local/platform.ts";

const platform = await startLocalPlatform({
  logLevel: "error",
  // Offline: the egress proxy and Chromium resolve nothing but loopback, so no query leaves the machine.
  nodeEnv: { WC_EGRESS_OFFLINE: "1" },
  onNodeOutput: (line) => process.stdout.write(line + "\n"),
});
process.stdout.write(JSON.stringify({ platform: { edgeUrl: platform.edgeUrl, apiKey: platform.apiKey, workerdUrl: platform.workerdUrl } }) + "\n");

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await platform.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.stdin.on("end", stop).resume();
