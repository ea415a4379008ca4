/** TCP ports a process listens on, from its open sockets and the kernel's socket tables. */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

const LISTEN = "0A";

export interface Listener {
  /** e.g. "127.0.0.1", "0.0.0.0", "::1", "::". */
  address: string;
  port: number;
}

/** An address as /proc/net/tcp{,6} writes it: 32-bit words in hex, each in the host's (little-endian) byte order. */
function procAddress(hex: string): string {
  const bytes = (hex.match(/.{8}/g) ?? []).flatMap((word) => (word.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join(".");
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16));
  return groups.join(":").replace(/\b(?:0:)+0\b|^(?:0:)+0?|(?::0)+$/, "::").replace(/:{3,}/, "::");
}

export const listeningPorts = (pid: number): number[] => listeners(pid).map((l) => l.port);

export function listeners(pid: number): Listener[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const found: Listener[] = [];
  for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const [, local, , state, , , , , , inode] = fields;
      const [address, port] = local.split(":");
      if (state === LISTEN && inodes.has(inode)) found.push({ address: procAddress(address), port: parseInt(port, 16) });
    }
  }
  return found;
}

/** How many sockets of any kind the process holds (to show the look-up sees them at all). */
export function socketCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:");
    } catch {
      return false;
    }
  }).length;
}

/** The port of the node's egress proxy, from its Chromium's real command line (`--proxy-server`). */
export function egressPortOf(chromiumPid: number): number {
  const argv = readFileSync(`/proc/${chromiumPid}/cmdline`, "utf8").split("\0");
  const flag = argv.find((arg) => arg.startsWith("--proxy-server="));
  const port = /^--proxy-server=http:\/\/127\.0\.0\.1:(\d+)$/.exec(flag ?? "")?.[1];
  if (!port) throw new Error(`no egress proxy on Chromium's command line: ${flag}`);
  return Number(port);
}
