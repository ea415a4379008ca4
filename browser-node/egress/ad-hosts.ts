/**
 * `blockAds`: the hosts of AdGuard's Base (ads) and Tracking Protection filters, as the package
 * @adguard/dnr-rulesets ships them (maintained, republished as the filters change). build.mjs
 * extracts the plain host rules (`||host^`) into `ad-hosts.txt` beside the node's bundle: sorted,
 * one per line (~150,000 hosts, ~3 MB). A session with `blockAds` keeps the file's bytes and an
 * index of its lines, and finds a host and each of its parent domains by binary search: ~4 MB of
 * memory, and none without `blockAds`.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** Beside the bundle (the image), else where build.mjs writes it (running from source). */
const CANDIDATES = [new URL("./ad-hosts.txt", import.meta.url), new URL("../../dist/browser-node/ad-hosts.txt", import.meta.url)];

export class AdHosts {
  private readonly starts: Uint32Array;

  /** `list`: ASCII hosts sorted bytewise, one per line. Kept as the file's bytes (off the JS heap). */
  constructor(private readonly list: Buffer) {
    let lines = 0;
    for (let at = list.indexOf(10); at >= 0; at = list.indexOf(10, at + 1)) lines++;
    const starts = new Uint32Array(lines + 1);
    let n = 0;
    for (let at = 0; at < list.length; ) {
      starts[n++] = at;
      const end = list.indexOf(10, at);
      at = end < 0 ? list.length : end + 1;
    }
    this.starts = starts.subarray(0, n);
  }

  get size() {
    return this.starts.length;
  }

  private contains(host: Buffer): boolean {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const start = this.starts[mid];
      const end = mid + 1 < this.starts.length ? this.starts[mid + 1] - 1 : this.list.length;
      const order = this.list.compare(host, 0, host.length, start, end);
      if (order === 0) return true;
      if (order < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Whether `host` or a domain it belongs to is listed (`||example.com^` covers `a.example.com`). */
  has(host: string): boolean {
    for (let h = host; h.includes("."); h = h.slice(h.indexOf(".") + 1)) {
      if (this.contains(Buffer.from(h, "latin1"))) return true;
    }
    return false;
  }
}

let loaded: Promise<AdHosts> | undefined;

/** The list, read once per process; throws when the build left it out. */
export function loadAdHosts(): Promise<AdHosts> {
  loaded ??= (async () => {
    const file = CANDIDATES.find((url) => existsSync(url));
    if (!file) throw new Error("blockAds: the ad and tracker host list (ad-hosts.txt) is missing; npm run build:node writes it");
    return new AdHosts(await readFile(file));
  })();
  return loaded;
}
