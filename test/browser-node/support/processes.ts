/** What the process table says about a node's Chromium: nothing of it may outlive the node. */
import { liveProcesses } from "../../../browser-node/chromium/process-table.ts";

export function chromiumLeft(profileDir: string, pid: number) {
  return liveProcesses({ needle: profileDir, pgid: pid });
}
