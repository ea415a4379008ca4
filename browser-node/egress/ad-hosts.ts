/**
 * `blockAds`: the hosts of AdGuard's Base (ads) and Tracking Protection filters, as the package
 * @adguard/dnr-rulesets ships them (maintained, republished as the filters change). build.mjs
 * extracts the plain host rules (`||host^`) into `ad-hosts.txt` beside the node's bundle: sorted,
 * one per line (~150,000 hosts, ~3 MB). A session with `blockAds` loads it as one string and finds
 * a host and each of its parent domains by binary search: ~4 MB of memory, and none without `blockAds`.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** Beside the bundle (the image), else where build.mjs writes it (running from source). */
const CANDIDATES = [new URL("./ad-hosts.txt", import.meta.url), new URL("../../dist/browser-node/ad-hosts.txt", import.meta.url)];

export class AdHosts {
  private readonly starts: Uint32Array;

  /** `text`: hosts sorted by their UTF-16 code units, one per line. */
  constructor(private readonly text: string) {
    const starts: number[] = [];
    for (let at = 0; at < text.length; ) {
      starts.push(at);
      const end = text.indexOf("\n", at);
      at = end < 0 ? text.length : end + 1;
    }
    this.starts = Uint32Array.from(starts);
  }

  get size() {
    return this.starts.length;
  }

  private line(i: number) {
    const start = this.starts[i];
    const end = this.text.indexOf("\n", start);
    return this.text.slice(start, end < 0 ? this.text.length : end);
  }

  private contains(host: string): boolean {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const here = this.line(mid);
      if (here === host) return true;
      if (here < host) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Whether `host` or a domain it belongs to is listed (`||example.com^` covers `a.example.com`). */
  has(host: string): boolean {
    for (let h = host; h.includes("."); h = h.slice(h.indexOf(".") + 1)) {
      if (this.contains(h)) return true;
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
    return new AdHosts(await readFile(file, "utf8"));
  })();
  return loaded;
}
