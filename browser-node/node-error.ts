import type { ExitReason } from "../edge/node-protocol.ts";

/**
 * The browser node's one error type. `reason` is what the node reports to the edge when this
 * error ends the session, so every failure maps onto the shared exit vocabulary; `status` is what
 * a `call` it fails answers the edge with (an HTTP status; 500 when unset).
 */
export class NodeError extends Error {
  readonly status: number;

  constructor(
    readonly reason: ExitReason,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.name = "NodeError";
    this.status = options?.status ?? 500;
  }
}
