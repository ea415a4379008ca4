/**
 * Where a request may go, decided after resolution: the proxy resolves each name itself, keeps
 * only addresses a page may reach (edge/egress-rules.ts), and connects to the very address it
 * checked, so a name that answers differently the second time (DNS rebinding) gains nothing.
 * The resolver and the connector are injected: tests map names to private addresses and record
 * every connect, without a packet leaving the machine.
 */
import { lookup } from "node:dns/promises";
import { connect, type Socket } from "node:net";
import { classifyAddress, isIpLiteral } from "../../edge/egress-rules.ts";

/** A name's addresses, in the order to try them. */
export type Resolver = (host: string) => Promise<string[]>;
/** Opens a TCP connection to an address already checked. */
export type Connector = (address: string, port: number) => Socket;

/** Why a request was not let through; its message is safe to log (a host, never credentials). */
export class EgressRefusal extends Error {}

export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Resolves nothing but `localhost`: no DNS query leaves the machine (tests, WC_EGRESS_OFFLINE). */
export const offlineResolver: Resolver = async (host) => {
  if (host === "localhost") return ["127.0.0.1"];
  throw new EgressRefusal(`${host} is not resolved: this node resolves no names (offline)`);
};

export const netConnector: Connector = (address, port) => {
  const socket = connect({ host: address, port });
  socket.setNoDelay(true);
  return socket;
};

/** How long a checked resolution is reused. The browser resolves nothing itself behind the proxy; this is its DNS cache. */
const CACHE_MS = 30_000;
const CACHE_ENTRIES = 2_000;

export class AddressGuard {
  private readonly cache = new Map<string, { address: string; until: number }>();

  constructor(
    private readonly resolver: Resolver,
    private readonly allowLoopback: boolean,
  ) {}

  /** Undefined when a page may reach `address`; otherwise why not. */
  refusal(address: string): string | undefined {
    const kind = classifyAddress(address);
    if (kind === undefined || (kind === "loopback" && this.allowLoopback)) return undefined;
    return kind;
  }

  /** The first address of `host` a page may reach; throws EgressRefusal when there is none. */
  async pick(host: string): Promise<string> {
    if (isIpLiteral(host)) {
      const why = this.refusal(host);
      if (why) throw new EgressRefusal(`${host} is a ${why} address`);
      return host;
    }
    const cached = this.cache.get(host);
    if (cached && cached.until > Date.now()) return cached.address;
    let addresses: string[];
    try {
      addresses = await this.resolver(host);
    } catch (error) {
      if (error instanceof EgressRefusal) throw error;
      throw new EgressRefusal(`${host} did not resolve (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
    const address = addresses.find((a) => this.refusal(a) === undefined);
    if (!address) {
      const kinds = [...new Set(addresses.map((a) => this.refusal(a)))].join(", ");
      throw new EgressRefusal(`${host} resolves only to refused addresses (${kinds || "none"})`);
    }
    if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(host, { address, until: Date.now() + CACHE_MS });
    return address;
  }
}

/**
 * Sockets to upstream proxies, whose bytes are the session's `proxyBytes`: read off each socket's
 * own counters (nothing on the data path), live ones when asked, closed ones once.
 */
export class UpstreamBytes {
  private closed = 0;
  private readonly live = new Set<Socket>();

  track(socket: Socket): Socket {
    this.live.add(socket);
    socket.once("close", () => {
      this.live.delete(socket);
      this.closed += socket.bytesRead + socket.bytesWritten;
    });
    return socket;
  }

  total(): number {
    let sum = this.closed;
    for (const s of this.live) sum += s.bytesRead + s.bytesWritten;
    return sum;
  }
}
