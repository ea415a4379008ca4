import type { ExitReason } from "../edge/node-protocol.ts";

/**
 * The browser node's one error type. `reason` is what the node reports to the edge when this
 * error ends the session, so every failure maps onto the shared exit vocabulary.
 */
export class NodeError extends Error {
  constructor(
    readonly reason: ExitReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "NodeError";
  }
}
