/** A minimal CDP client for measuring: one WebSocket, numbered calls, no compression unless asked. */
import WebSocket from "ws";

export class CdpClient {
  private nextId = 1;
  private readonly pending = new Map<number, (message: any) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const message = JSON.parse(String(data));
      const done = this.pending.get(message.id);
      if (done) {
        this.pending.delete(message.id);
        done(message);
      }
    });
  }

  /** `offerDeflate`: offer permessage-deflate, as Playwright and Puppeteer (through ws) do. */
  static async connect(url: string, options: { offerDeflate?: boolean } = {}): Promise<CdpClient> {
    const socket = new WebSocket(url, { perMessageDeflate: options.offerDeflate ?? false });
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    return new CdpClient(socket);
  }

  /** The extensions the server agreed to ("" or "permessage-deflate"). */
  get extensions(): string {
    return this.socket.extensions;
  }

  send(method: string, params: object = {}): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close() {
    this.socket.close();
  }
}
