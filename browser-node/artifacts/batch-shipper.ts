/**
 * Ships a bounded store of items (log entries, recording events) to the edge in batches within
 * the edge's bounds (ArtifactLimits.batchItems, batchBytes). Flushes never overlap. What the edge
 * refuses for good is dropped, with one log line; what could not be delivered is put back and
 * tried again at the next flush.
 */
import { ArtifactLimits } from "../../edge/node-protocol.ts";
import { log } from "../log.ts";
import type { EdgeArtifacts } from "./edge-artifacts.ts";

export interface BatchSource<T> {
  /** Up to `maxItems` items, oldest first, whose JSON is at most `maxBytes`. */
  take(maxItems: number, maxBytes: number): T[];
  /** Items a failed delivery took, back at the front. */
  putBack(items: T[]): void;
}

/** Items waiting to be shipped, oldest first, with their sizes (bytes of JSON) kept in a running total. */
export class HeldItems<T> {
  private readonly items: Array<{ item: T; bytes: number }> = [];
  bytes = 0;

  get length() {
    return this.items.length;
  }

  push(item: T, bytes: number) {
    this.items.push({ item, bytes });
    this.bytes += bytes;
  }

  dropOldest() {
    const dropped = this.items.shift();
    if (dropped) this.bytes -= dropped.bytes;
  }

  /** Up to `maxItems` items, oldest first, whose JSON (with a separator each) fits `maxBytes`. */
  take(maxItems: number, maxBytes: number): T[] {
    const out: T[] = [];
    let bytes = 0;
    while (this.items.length && out.length < maxItems && bytes + this.items[0].bytes + 1 <= maxBytes) {
      const { item, bytes: size } = this.items.shift()!;
      this.bytes -= size;
      bytes += size + 1;
      out.push(item);
    }
    return out;
  }

  /** Items a failed delivery took, back at the front in their order. */
  putBack(items: T[], sizeOf: (item: T) => number) {
    for (const item of [...items].reverse()) {
      const bytes = sizeOf(item);
      this.items.unshift({ item, bytes });
      this.bytes += bytes;
    }
  }
}

/** Room for the batch's own JSON around its items. */
const BATCH_BYTES = ArtifactLimits.batchBytes - 64 * 1024;

export class BatchShipper<T> {
  /** Set once the edge said it takes no more (409: turned off or too late; 413 for a full recording). */
  closed = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly kind: "logs" | "recording",
    private readonly edge: EdgeArtifacts,
    private readonly source: BatchSource<T>,
    /** The batch's JSON text. */
    private readonly wrap: (items: T[]) => string,
    /** Called when the edge refuses more for good, so the producer can stop. */
    private readonly onClosed: (why: string) => void = () => {},
  ) {}

  flush(): Promise<void> {
    return (this.running ??= this.ship().finally(() => (this.running = undefined)));
  }

  private async ship() {
    while (!this.closed) {
      const items = this.source.take(ArtifactLimits.batchItems, BATCH_BYTES);
      if (items.length === 0) return;
      let status: number;
      let message: unknown;
      try {
        const res = await this.edge.postBatch(this.kind, this.wrap(items));
        status = res.status;
        message = (res.body as { message?: unknown } | undefined)?.message;
      } catch (err) {
        this.source.putBack(items);
        log("artifact-batch-undelivered", { kind: this.kind, items: items.length, problem: err instanceof Error ? err.message : String(err) }, "warn");
        return;
      }
      if (status >= 200 && status < 300) continue;
      const why = `HTTP ${status}${typeof message === "string" ? `: ${message.slice(0, 300)}` : ""}`;
      if (status === 409 || (status === 413 && this.kind === "recording")) {
        this.closed = true;
        log("artifact-stream-closed", { kind: this.kind, why }, "warn");
        this.onClosed(why);
        return;
      }
      log("artifact-batch-refused", { kind: this.kind, items: items.length, why }, "warn");
    }
  }
}
