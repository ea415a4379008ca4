/**
 * Linux's process table (/proc), the one reader of it: which live processes (zombies do not
 * count) match, to prove a browser is really gone, and to find a session's processes on the
 * local platform (local/processes.ts).
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessEntry {
  pid: number;
  pgid: number;
  state: string;
}

/** What to look for; a process that matches any one of the given criteria is found. */
export interface ProcessMatch {
  /** A substring of its command line (arguments joined with spaces). */
  needle?: string;
  /** Its process group. */
  pgid?: number;
  /** A substring of its environment, NUL-separated `NAME=value` entries with a NUL before the first and after the last. */
  environ?: string;
}

/** Live processes, this one left out, that match. */
export function liveProcesses(match: ProcessMatch): ProcessEntry[] {
  const found: ProcessEntry[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readEntry(Number(name));
    if (!entry || entry.state === "Z" || entry.pid === process.pid) continue;
    if (matches(entry, match)) found.push(entry);
  }
  return found;
}

function matches(entry: ProcessEntry, match: ProcessMatch): boolean {
  if (match.pgid !== undefined && entry.pgid === match.pgid) return true;
  if (match.needle && procFile(entry.pid, "cmdline")?.replaceAll("\0", " ").includes(match.needle)) return true;
  return match.environ !== undefined && `\0${procFile(entry.pid, "environ") ?? ""}\0`.includes(match.environ);
}

function readEntry(pid: number): ProcessEntry | undefined {
  const stat = procFile(pid, "stat");
  if (stat === undefined) return undefined;
  // The command name is in parentheses and may contain spaces: parse after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { pid, state: fields[0], pgid: Number(fields[2]) };
}

/** /proc/<pid>/<file>, or undefined when the process is gone (exited while we looked) or not ours to read. */
function procFile(pid: number, file: "stat" | "cmdline" | "environ"): string | undefined {
  try {
    // latin1: every byte one character, so a byte-wise needle matches whatever the encoding.
    return readFileSync(`/proc/${pid}/${file}`, file === "environ" ? "latin1" : "utf8");
  } catch {
    return undefined;
  }
}
