/**
 * The processes a CDP message through the local edge crosses besides client and Chromium, and the
 * CPU each spends: the session's browser node; the edge (the workerd listening on the edge
 * Worker's own socket); the local front door (whatever listens on the edge's address: the Node
 * front door, in the platform's process, which spends on other work too). Without workerd's own
 * address, every workerd below the platform counts as the edge, front door included.
 */
import { cpuMicros, descendants, listeningPid } from "../process-cpu.ts";
import type { PlatformChild } from "../platform-child.ts";

export const RELAYS = ["node", "edge", "entry"] as const;
export type Relay = (typeof RELAYS)[number];

export class RelayMeter {
  /** Microseconds of CPU each relay spent inside `measure` calls so far. */
  readonly spent: Record<Relay, number> = { node: 0, edge: 0, entry: 0 };

  private constructor(readonly pids: Record<Relay, number[]>) {}

  static find(platform: PlatformChild): RelayMeter {
    const below = descendants(platform.pid);
    const node = below.filter((p) => /browser-node\/(start|main)\./.test(p.cmdline)).map((p) => p.pid);
    const candidates = [platform.pid, ...below.map((p) => p.pid)];
    const listener = (url: string) => listeningPid(Number(new URL(url).port), candidates);
    const edge = platform.workerdUrl && listener(platform.workerdUrl);
    const entry = platform.workerdUrl && listener(platform.edgeUrl);
    if (edge && entry && edge !== entry) return new RelayMeter({ node, edge: [edge], entry: [entry] });
    return new RelayMeter({ node, edge: below.filter((p) => /\bworkerd\b/.test(p.cmdline)).map((p) => p.pid), entry: [] });
  }

  /** Runs `work`, adding what each relay spent meanwhile when `count` says so. */
  async measure<T>(count: boolean, work: () => Promise<T>): Promise<T> {
    const before = this.now();
    const result = await work();
    if (count) {
      const after = this.now();
      for (const relay of RELAYS) this.spent[relay] += after[relay] - before[relay];
    }
    return result;
  }

  private now(): Record<Relay, number> {
    const sum = (pids: number[]) => pids.reduce((total, pid) => total + cpuMicros(pid), 0);
    return { node: sum(this.pids.node), edge: sum(this.pids.edge), entry: sum(this.pids.entry) };
  }
}
