/**
 * The session's CDP log: what clients sent through the proxy and what Chromium answered, as
 * Browserbase's SessionLog entries (one per command: method, params, result, timestamps, page).
 *
 * Relays hand captured messages (cdp-tap.ts) to a bounded queue; they are decoded later, every
 * `DECODE_EVERY_MS` (at once when many wait) in turns of at most `PER_TURN` messages, so logging
 * never holds a relayed byte and a busy relay pays one wake-up per batch, not per message. When
 * the queue is full, messages are dropped (and counted) rather than slowing the relay. Entries wait
 * as their JSON text in a bounded store (ArtifactLimits.logEntries / logBytes, oldest dropped
 * first) until shipped: at the next timed flush, or as soon as a full batch is ready
 * (`onFullBatch`), so heavy traffic does not pile thousands of entries into the node's memory
 * (the node's RSS under the cdp-proxy benchmark's load is in the README's table).
 *
 * pageId: pages are numbered 1, 2, ... in the order the log first sees their targets; 0 is the
 * browser itself (or a target the log never saw attached). sessionId is the CDP session id of a
 * flattened session, the target id for a page socket (/devtools/page/<id>), "" at browser level.
 */
import { ArtifactLimits, type SessionLogEntry } from "../../edge/node-protocol.ts";
import { log } from "../log.ts";
import { HeldItems } from "./batch-shipper.ts";
import { FrameCapture, HEAD_BYTES, type CapturedMessage } from "./cdp-tap.ts";

/** What a relay (the proxy's, proxy/relay.ts, or a channel, link/channel.ts) calls on its hot path when logging is on: raw frame bytes. */
export interface RelayTap {
  fromClient(chunk: Buffer): void;
  fromBrowser(chunk: Buffer): void;
  end(): void;
}

const MAX_QUEUED = 10_000;
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const PER_TURN = 500;
const DECODE_EVERY_MS = 50;
/** Commands still unanswered after this long are logged without a response. */
const ANSWER_WAIT_MS = 30_000;
const MAX_PENDING_PER_CLIENT = 1000;
/** An entry must stay under the edge's per-entry bound with room to spare. */
const ENTRY_BYTES = ArtifactLimits.logEntryBytes - 2048;

interface Client {
  pending: Map<string, Pending>;
  /** The target of a page socket; undefined for a browser socket. */
  targetId: string | undefined;
}
interface Pending {
  method: string;
  sessionId: string;
  request: NonNullable<SessionLogEntry["request"]>;
  frameId?: string;
}
interface Queued {
  client: Client;
  fromClient: boolean;
  message: CapturedMessage;
  at: number;
  end?: boolean;
}
interface Decoded {
  id?: number;
  method?: string;
  sessionId?: string;
  body: Record<string, unknown>;
  rawBody: string;
}

export class SessionLog {
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private dropped = 0;
  private readonly store = new HeldItems<string>();
  private readonly pages = new Map<string, number>();
  private readonly targetOfSession = new Map<string, string>();
  private readonly clients = new Set<Client>();

  /** @param onFullBatch called (soon, never from inside `take`) when a full batch of entries waits. */
  constructor(private readonly onFullBatch: () => void = () => {}) {}

  /** A tap for one proxied relay; `path` is the client's socket path (a page socket names its target). */
  tap(path: string): RelayTap {
    const client = this.client(path);
    const up = new FrameCapture((message) => this.enqueue(client, true, message));
    const down = new FrameCapture((message) => this.enqueue(client, false, message));
    return {
      fromClient: (chunk) => up.feed(chunk),
      fromBrowser: (chunk) => down.feed(chunk),
      end: () => this.enqueue(client, false, { head: Buffer.alloc(0), tail: undefined, length: 0 }, true),
    };
  }

  private client(path: string): Client {
    const page = /^\/devtools\/page\/([A-Za-z0-9-]+)/.exec(path);
    const client: Client = { pending: new Map(), targetId: page?.[1] };
    this.clients.add(client);
    if (client.targetId) this.pageNumber(client.targetId);
    return client;
  }

  private enqueue(client: Client, fromClient: boolean, message: CapturedMessage, end = false) {
    if (!end && (this.queue.length >= MAX_QUEUED || this.queuedBytes >= MAX_QUEUED_BYTES)) {
      this.dropped++;
      return;
    }
    this.queue.push({ client, fromClient, message, at: Date.now(), end });
    this.queuedBytes += message.head.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(this.work, DECODE_EVERY_MS).unref();
    }
  }

  private readonly work = () => {
    this.process(PER_TURN);
    if (this.queue.length > 0) setImmediate(this.work); // a backlog: keep at it, a turn at a time
    else this.scheduled = false;
  };

  private process(max: number) {
    const batch = this.queue.splice(0, max);
    for (const item of batch) {
      this.queuedBytes -= item.message.head.length;
      if (item.end) this.closeClient(item.client);
      else this.handle(item);
    }
  }

  /** Entries ready to ship (their JSON), oldest first, up to `maxItems` and `maxBytes`. Decodes what is queued first. */
  take(maxItems: number, maxBytes: number): string[] {
    while (this.queue.length) this.process(PER_TURN);
    this.expirePending(Date.now() - ANSWER_WAIT_MS);
    if (this.dropped) {
      log("session-log-dropped", { messages: this.dropped, reason: "the log's queue was full" }, "warn");
      this.dropped = 0;
    }
    return this.store.take(maxItems, maxBytes);
  }

  /** Puts back entries a failed shipment took, ahead of newer ones (within the bounds). */
  putBack(entries: string[]) {
    this.store.putBack(entries, (json) => Buffer.byteLength(json));
    this.trim();
  }

  /** At the session's end: every command still unanswered is logged as it stands. */
  closeAll() {
    for (const client of this.clients) this.closeClient(client);
  }

  private handle(item: Queued) {
    const message = decode(item.message);
    if (!message) return;
    const { client } = item;
    if (item.fromClient) {
      if (message.id === undefined || !message.method) return;
      const sessionId = message.sessionId ?? client.targetId ?? "";
      if (client.pending.size >= MAX_PENDING_PER_CLIENT) this.expireOne(client);
      client.pending.set(`${sessionId}:${message.id}`, {
        method: message.method,
        sessionId,
        request: { params: message.body, rawBody: message.rawBody, timestamp: item.at },
        frameId: stringField(message.body, "frameId"),
      });
      return;
    }
    if (message.id === undefined) return this.observeEvent(message);
    const pending = this.findPending(client, message);
    if (!pending) return;
    this.add(pending, { result: message.body, rawBody: message.rawBody, timestamp: item.at });
  }

  private findPending(client: Client, message: Decoded): Pending | undefined {
    const sessionId = message.sessionId ?? client.targetId ?? "";
    let key = `${sessionId}:${message.id}`;
    if (!client.pending.has(key) && message.sessionId === undefined) {
      // A truncated answer may have lost its sessionId: match on the id alone when it is unambiguous.
      const matches = [...client.pending.keys()].filter((k) => k.endsWith(`:${message.id}`));
      if (matches.length === 1) key = matches[0];
    }
    const pending = client.pending.get(key);
    client.pending.delete(key);
    return pending;
  }

  /** Targets and sessions, for page numbers. Events themselves are not logged. */
  private observeEvent(message: Decoded) {
    const params = message.body as { sessionId?: string; targetInfo?: { targetId?: string; type?: string } };
    const info = params.targetInfo;
    if (message.method === "Target.attachedToTarget" && params.sessionId && info?.targetId) {
      if (this.targetOfSession.size < 10_000) this.targetOfSession.set(params.sessionId, info.targetId);
      if (info.type === "page") this.pageNumber(info.targetId);
    } else if (message.method === "Target.targetCreated" && info?.type === "page" && info.targetId) {
      this.pageNumber(info.targetId);
    }
  }

  private pageNumber(targetId: string): number {
    let n = this.pages.get(targetId);
    if (n === undefined && this.pages.size < 100_000) this.pages.set(targetId, (n = this.pages.size + 1));
    return n ?? 0;
  }

  private add(pending: Pending, response?: NonNullable<SessionLogEntry["response"]>) {
    const targetId = this.targetOfSession.get(pending.sessionId) ?? (this.pages.has(pending.sessionId) ? pending.sessionId : undefined);
    const result = response?.result;
    const entry: SessionLogEntry = {
      method: pending.method,
      pageId: targetId ? (this.pages.get(targetId) ?? 0) : 0,
      sessionId: pending.sessionId,
      ...(pending.frameId || stringField(result, "frameId") ? { frameId: pending.frameId ?? stringField(result, "frameId") } : {}),
      ...(stringField(result, "loaderId") ? { loaderId: stringField(result, "loaderId") } : {}),
      request: pending.request,
      ...(response ? { response } : {}),
      timestamp: pending.request.timestamp,
    };
    let json = JSON.stringify(entry);
    let bytes = Buffer.byteLength(json);
    if (bytes > ENTRY_BYTES) {
      shrink(entry);
      json = JSON.stringify(entry);
      bytes = Buffer.byteLength(json);
      if (bytes > ENTRY_BYTES) return;
    }
    this.store.push(json, bytes);
    this.trim();
    if (this.store.length === ArtifactLimits.batchItems) setImmediate(this.onFullBatch);
  }

  private trim() {
    while (this.store.length > ArtifactLimits.logEntries || this.store.bytes > ArtifactLimits.logBytes) this.store.dropOldest();
  }

  private expireOne(client: Client) {
    const [key, pending] = client.pending.entries().next().value as [string, Pending];
    client.pending.delete(key);
    this.add(pending);
  }

  private expirePending(before: number) {
    for (const client of this.clients) {
      for (const [key, pending] of client.pending) {
        if ((pending.request.timestamp ?? 0) >= before) break; // insertion order is time order
        client.pending.delete(key);
        this.add(pending);
      }
    }
  }

  private closeClient(client: Client) {
    for (const pending of client.pending.values()) this.add(pending);
    client.pending.clear();
    this.clients.delete(client);
  }
}

function stringField(body: unknown, name: string): string | undefined {
  const value = body && typeof body === "object" ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" ? value : undefined;
}

/** A captured message as fields; a message longer than the log's body bound is only skimmed. */
function decode(m: CapturedMessage): Decoded | undefined {
  const head = m.head.toString("utf8");
  if (!m.tail && m.length <= HEAD_BYTES) {
    let parsed: { id?: unknown; method?: unknown; sessionId?: unknown; params?: unknown; result?: unknown; error?: unknown };
    try {
      parsed = JSON.parse(head);
    } catch {
      return undefined;
    }
    const body = (parsed.error !== undefined ? { error: parsed.error } : (parsed.params ?? parsed.result ?? {})) as Record<string, unknown>;
    return {
      id: typeof parsed.id === "number" ? parsed.id : undefined,
      method: typeof parsed.method === "string" ? parsed.method : undefined,
      sessionId: typeof parsed.sessionId === "string" ? parsed.sessionId : undefined,
      body: body && typeof body === "object" && !Array.isArray(body) ? body : {},
      rawBody: head,
    };
  }
  const tail = m.tail?.toString("utf8") ?? "";
  const id = /^\{\s*"id"\s*:\s*(\d+)/.exec(head)?.[1];
  const method = /"method"\s*:\s*"([^"\\]{1,200})"/.exec(head)?.[1];
  const sessionId = (/"sessionId"\s*:\s*"([A-Za-z0-9-]{1,100})"\s*\}?\s*$/.exec(tail) ?? /^\{[^{]*"sessionId"\s*:\s*"([A-Za-z0-9-]{1,100})"/.exec(head))?.[1];
  return {
    id: id === undefined ? undefined : Number(id),
    method,
    sessionId,
    body: { truncated: true, bytes: m.length },
    rawBody: `${head.slice(0, ArtifactLimits.logBodyChars)}…[truncated: ${m.length} bytes in all]`,
  };
}

/** Cuts an entry that would pass the edge's per-entry bound (a body full of escapes). */
function shrink(entry: SessionLogEntry) {
  for (const part of [entry.request, entry.response]) {
    if (!part) continue;
    const length = part.rawBody.length;
    part.rawBody = `${part.rawBody.slice(0, 1024)}…[truncated: ${length} characters in all]`;
    if ("params" in part) part.params = { truncated: true };
    if ("result" in part) part.result = { truncated: true };
  }
}
