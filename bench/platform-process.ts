/**
 * The local platform in a process of its own, as `npm run dev` runs it: a benchmark's clients then
 * share no event loop with the edge's front door or the stand-in. Takes its options as JSON in
 * argv[2] (PlatformChildOptions). Prints one JSON line `{"platform": {...}}` once it is up, then
 * every node's log line as it comes; answers a `busy` line on stdin with `{"busy": boolean}`:
 * whether a task started for a session, or a pool member claimed by one, still runs. Stops the
 * platform (nodes first) on SIGTERM or when its stdin closes.
 * `node --import tsx platform-process.ts '{"warmPoolSize": 10}'`
 */
import { createInterface } from "node:readline";
import { startLocalPlatform, type LocalPlatform } from "../browser-node/local/platform.ts";
import type { PlatformChildOptions } from "./platform-child.ts";

const options = JSON.parse(process.argv[2] ?? "{}") as PlatformChildOptions;
const platform = await startLocalPlatform({
  logLevel: "error",
  ...options,
  // Offline: the egress proxy and Chromium resolve nothing but loopback, so no query leaves the machine.
  nodeEnv: { WC_EGRESS_OFFLINE: "1" },
  onNodeOutput: (line) => process.stdout.write(line + "\n"),
});
const { edgeUrl, apiKey, workerdUrl } = platform;
process.stdout.write(JSON.stringify({ platform: { edgeUrl, apiKey, workerdUrl, adminToken: platform.secrets.ADMIN_TOKEN } }) + "\n");

/** A task started for a session (reserved, `wc-`) or for a member a session claimed is not stopped yet. */
async function sessionTasksBusy(p: LocalPlatform): Promise<boolean> {
  const res = await fetch(`${p.edgeUrl}/admin/pools`, { headers: { authorization: `Bearer ${p.secrets.ADMIN_TOKEN}` } });
  const pools = (await res.json()) as { members: { id: string; state: string }[] }[];
  const claimed = new Set(pools.flatMap((pool) => pool.members.filter((m) => m.state === "claimed").map((m) => m.id)));
  return [...p.standIn.tasks.values()].some((t) => t.lastStatus !== "STOPPED" && (t.startedBy?.startsWith("wc-") || claimed.has(t.startedBy?.slice(3) ?? "")));
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await platform.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
createInterface({ input: process.stdin })
  .on("line", (line) => {
    if (line.trim() === "busy") void sessionTasksBusy(platform).then((busy) => process.stdout.write(JSON.stringify({ busy }) + "\n"));
  })
  .on("close", stop);
