/** Linux process-table look-ups, to prove a browser is really gone (zombies do not count). */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessEntry {
  pid: number;
  pgid: number;
  state: string;
}

function readEntry(pid: number): (ProcessEntry & { cmdline: string }) | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may contain spaces: parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    return { pid, state: fields[0], pgid: Number(fields[2]), cmdline };
  } catch {
    return undefined; // exited while we looked
  }
}

/** Live (non-zombie) processes whose command line contains `needle`, or that belong to `pgid`. */
export function liveProcesses(match: { needle?: string; pgid?: number }): ProcessEntry[] {
  const found: ProcessEntry[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readEntry(Number(name));
    if (!entry || entry.state === "Z" || entry.pid === process.pid) continue;
    const hit = (match.pgid !== undefined && entry.pgid === match.pgid) || (match.needle && entry.cmdline.includes(match.needle));
    if (hit) found.push({ pid: entry.pid, pgid: entry.pgid, state: entry.state });
  }
  return found;
}
