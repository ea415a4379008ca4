/**
 * The node's own CDP connection to Chromium (its debugging port on loopback, not through the
 * proxy): downloads and the recorder work here, so clients never see it and its traffic is not
 * part of the session's log.
 */
import WebSocket from "ws";
import { NodeError } from "../node-error.ts";

export type CdpEventHandler = (method: string, params: any, sessionId: string | undefined) => void;

const COMMAND_TIMEOUT_MS = 10_000;

export class SideCdp {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly handlers: CdpEventHandler[] = [];
  readonly closed: Promise<void>;

  private constructor(private readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    // Chromium going away (a crash, a stop) may reset the connection: `close` settles what was
    // pending; the error itself must not become the process's uncaught one.
    socket.on("error", () => {});
    socket.on("message", (data) => this.receive(String(data)));
    void this.closed.then(() => {
      for (const [, call] of this.pending) {
        clearTimeout(call.timer);
        call.reject(new NodeError("error", "the node's CDP connection closed"));
      }
      this.pending.clear();
    });
  }

  static connect(debugPort: number, browserPath: string): Promise<SideCdp> {
    const socket = new WebSocket(`ws://127.0.0.1:${debugPort}${browserPath}`, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      socket.once("open", () => resolve(new SideCdp(socket)));
      socket.once("error", (err) => reject(new NodeError("error", `cannot open the node's CDP connection: ${err.message}`)));
    });
  }

  on(handler: CdpEventHandler) {
    this.handlers.push(handler);
  }

  send<T = any>(method: string, params: object = {}, sessionId?: string): Promise<T> {
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.reject(new NodeError("error", "the node's CDP connection is closed"));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new NodeError("error", `${method}: no answer within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.send(JSON.stringify(sessionId ? { id, method, params, sessionId } : { id, method, params }));
    });
  }

  close() {
    this.socket.close();
  }

  private receive(text: string) {
    let message: { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message?: string }; sessionId?: string };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.id !== undefined) {
      const call = this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id);
      clearTimeout(call.timer);
      if (message.error) call.reject(new NodeError("error", `CDP: ${message.error.message ?? "error"}`));
      else call.resolve(message.result);
      return;
    }
    if (message.method) {
      for (const handler of this.handlers) {
        try {
          handler(message.method, message.params, message.sessionId);
        } catch {
          // one handler's failure must not starve the others
        }
      }
    }
  }
}
