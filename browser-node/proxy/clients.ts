/**
 * The open client sockets of the session, whichever way they came (a byte client through the
 * proxy, or a channel through the edge): counted for idle detection, each closed when its token
 * expires, all closed together when the session ends.
 */
import { CloseCode } from "../../edge/node-protocol.ts";
import { log } from "../log.ts";
import type { CloseReason } from "../../edge/node-protocol.ts";

/** One client's conversation with Chromium, as the session sees it. */
export interface CdpClient {
  /** Ends the conversation with a close frame carrying `why`'s code and reason. */
  close(why: CloseReason): Promise<void>;
  /** Settles once the client's socket is closed, however it closed. */
  readonly closed: Promise<void>;
}

/** setTimeout's ceiling (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ClientRegistry {
  private readonly open = new Set<CdpClient>();
  /** Live viewers (live/): closed with the others, but they keep no session alive. */
  private readonly watchers = new Set<CdpClient>();
  private readonly listeners: Array<(count: number) => void> = [];
  private nextId = 1;
  /** How many clients ever connected (the readiness probe does not count). */
  connectedEver = 0;

  /**
   * `sessionExpiresAt` (ms): a token that lasts until then (JWT `exp` is whole seconds, hence the
   * second of slack) leaves the closing to the session's own timeout, whose 4001 says more.
   */
  constructor(private readonly sessionExpiresAt = Number.POSITIVE_INFINITY) {}

  get count() {
    return this.open.size;
  }

  onCountChange(listener: (count: number) => void) {
    this.listeners.push(listener);
  }

  /**
   * `expiresAt` (ms) closes this socket with 4002 when its token runs out; undefined for the probe.
   * A `watcher` (a live viewer) is not counted: watching a session does not keep it from idling out.
   */
  add(client: CdpClient, expiresAt: number | undefined, info: { path: string; watcher?: boolean }) {
    const id = this.nextId++;
    const counted = expiresAt !== undefined && !info.watcher;
    let timer: NodeJS.Timeout | undefined;
    if (info.watcher) {
      this.watchers.add(client);
      void client.closed.then(() => this.watchers.delete(client));
    }
    if (expiresAt !== undefined && expiresAt < this.sessionExpiresAt - 1000) {
      timer = setTimeout(() => void client.close(CloseCode.tokenExpired), Math.min(MAX_TIMER_MS, Math.max(0, expiresAt - Date.now())));
      timer.unref();
    }
    if (counted) {
      this.open.add(client);
      this.connectedEver++;
      log("client-connected", { client: id, path: info.path, clients: this.count });
      this.notify();
    }
    void client.closed.then(() => {
      clearTimeout(timer);
      if (!counted) return;
      this.open.delete(client);
      log("client-disconnected", { client: id, clients: this.count });
      this.notify();
    });
  }

  closeAll(why: CloseReason): Promise<void> {
    return Promise.all([...this.open, ...this.watchers].map((client) => client.close(why))).then(() => {});
  }

  private notify() {
    for (const listener of this.listeners) listener(this.count);
  }
}
