/**
 * When a live session ends on its own: at `expiresAt`, a grace period after the last client of a
 * non-keepAlive session leaves, or at the connect deadline when no client ever came (for
 * keepAlive too: a session nobody connects to within it was abandoned).
 */
import type { ExitReason } from "../../edge/node-protocol.ts";
import type { ClientRegistry } from "../proxy/clients.ts";

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SessionTimerOptions {
  expiresAt: Date;
  keepAlive: boolean;
  idleGraceMs: number;
  connectDeadlineMs: number;
  clients: ClientRegistry;
  end: (reason: ExitReason) => void;
}

/** Arms the timers (call once the node is ready); returns a function that disarms them all. */
export function armSessionTimers(o: SessionTimerOptions): () => void {
  let disarmed = false;
  const at = (ms: number, reason: ExitReason) =>
    setTimeout(() => disarmed || o.end(reason), Math.min(MAX_TIMER_MS, Math.max(0, ms)));
  const expiry = at(o.expiresAt.getTime() - Date.now(), "timed-out");
  let connect: NodeJS.Timeout | undefined = o.clients.connectedEver === 0 ? at(o.connectDeadlineMs, "never-connected") : undefined;
  let idle: NodeJS.Timeout | undefined;

  const onCount = (count: number) => {
    if (disarmed) return;
    if (count > 0) {
      clearTimeout(connect);
      clearTimeout(idle);
      connect = idle = undefined;
    } else if (!o.keepAlive && idle === undefined) {
      idle = at(o.idleGraceMs, "idle");
    }
  };
  o.clients.onCountChange(onCount);
  if (o.clients.connectedEver > 0 && o.clients.count === 0) onCount(0);

  return () => {
    disarmed = true;
    clearTimeout(expiry);
    clearTimeout(connect);
    clearTimeout(idle);
  };
}
