/**
 * The WebSockets a SessionObject answers, each already authenticated by the Worker: the node's
 * link (hibernatable, JSON messages both ways), the node's channels, and its CDP clients'
 * upgrades, each answered only once the node's channel for it is open, with that channel's far
 * end (cdp-relay.ts).
 */
import { CloseCode, LIVE_CHANNEL_PATH, LinkClose, type NodeExit, type NodeToEdge } from "../node-protocol.ts";
import { describeZodError, type Outcome } from "../errors.ts";
import { log } from "../log.ts";
import { sleep } from "../retries.ts";
import { NodeToEdge as NodeMessage } from "../schemas/node-messages.ts";
import type { EdgeEnv } from "../env.ts";
import { nodeTokenExpiry, signingKey, signNodeToken } from "../tokens.ts";
import { isFinal, type SessionRecord } from "../sessions/session-record.ts";
import { closeQuietly, type NodeLink } from "./node-link.ts";
import { CdpRelay } from "./cdp-relay.ts";

export type ReadyReport = Omit<Extract<NodeToEdge, { t: "ready" }>, "t">;

/** What the Worker learned from a client's CDP (or live) token, passed to the object with its upgrade. */
export const VERIFIED_CLIENT = {
  project: "x-wc-client-project",
  expiresAt: "x-wc-client-expires-at",
  /** Live viewers only: "1" when the node must drop the viewer's input. */
  readOnly: "x-wc-client-read-only",
  /** Live viewers only: the page (target id) to watch first. */
  page: "x-wc-client-page",
} as const;

/** How long a client's upgrade waits for its node to open the channel. */
const OPEN_TIMEOUT_MS = 10_000;
/** `ready` that could not be taken yet (a task's address not known yet) is tried this often. */
const READY_ATTEMPTS = 5;

const LINK_PATH = /^\/internal\/nodes\/[^/]+\/link$/;
const CHANNEL_PATH = /^\/internal\/nodes\/[^/]+\/cdp\/([^/]+)$/;
const CLIENT_PATH = /^\/cdp\/[^/]+(\/devtools\/(?:browser|page)(?:\/[^/]+)?)?\/?$/;
const LIVE_PATH = /^\/live\/[^/]+\/socket$/;

/** What the sockets need of their session; the SessionObject passes its own. */
export interface SessionHooks {
  record(): SessionRecord | undefined;
  ready(report: ReadyReport): Promise<Outcome<unknown>>;
  exit(report: NodeExit): Promise<unknown>;
  /** The node's `ready` cannot be taken: the session fails. */
  refuseReady(message: string): Promise<void>;
  linkOpened(): Promise<void>;
  linkLost(): Promise<void>;
}

const answer = (status: number, message: string) => Response.json({ message }, { status });
const upgraded = (webSocket: WebSocket) => new Response(null, { status: 101, webSocket });

export class NodeSockets {
  private readonly relay = new CdpRelay();

  constructor(
    private readonly env: EdgeEnv,
    private readonly session: SessionHooks,
    private readonly link: NodeLink,
  ) {}

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (LINK_PATH.test(path)) return this.openLink();
    const channel = CHANNEL_PATH.exec(path);
    if (channel) return this.relay.arrive(channel[1]);
    const client = CLIENT_PATH.exec(path);
    if (client) return this.connectClient(request, client[1] ?? "/devtools/browser");
    if (LIVE_PATH.test(path)) {
      const page = request.headers.get(VERIFIED_CLIENT.page);
      // A live viewer: the node attaches its channel to the screencast hub, not to Chromium.
      return this.connectClient(request, LIVE_CHANNEL_PATH, { readOnly: request.headers.get(VERIFIED_CLIENT.readOnly) !== "0", ...(page ? { page } : {}) });
    }
    return answer(404, `Not found: ${path}`);
  }

  async message(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    if (!this.link.isCurrent(ws)) return; // a replaced link's last words
    const parsed = NodeMessage.safeParse(typeof data === "string" ? parseJson(data) : undefined);
    if (!parsed.success) {
      log("warn", "session.link_bad_message", { sessionId: this.session.record()?.id, error: describeZodError(parsed.error) });
      return;
    }
    const message = parsed.data;
    if (message.t === "reply") return this.link.reply(message);
    if (message.t === "exit") {
      const { t: _, ...report } = message;
      return void (await this.session.exit(report));
    }
    return this.ready({ browserVersion: message.browserVersion, direct: message.direct });
  }

  async closed(ws: WebSocket, code: number, reason: string): Promise<void> {
    const current = this.link.isCurrent(ws);
    closeQuietly(ws, code, reason); // completes the closing handshake
    if (!current) return;
    this.link.dropCalls();
    await this.session.linkLost();
  }

  private async openLink(): Promise<Response> {
    const r = this.session.record();
    if (!r) return answer(404, "Session not found");
    const [node, server] = Object.values(new WebSocketPair());
    // Signed before the link is taken, so `welcome` is the first message on it.
    const welcome = isFinal(r.status) ? undefined : await signNodeToken(await signingKey(this.env), { sessionId: r.id, expiresAtMs: nodeTokenExpiry(r.expiresAt) });
    this.link.open(server, welcome ? { t: "welcome", nodeToken: welcome } : undefined);
    if (!welcome) this.link.close(LinkClose.sessionOver.code, LinkClose.sessionOver.reason);
    else await this.session.linkOpened();
    return upgraded(node);
  }

  /** The node's `ready`, on its session link or passed on by its pool (over the pool link, before the session link opened). */
  async ready(report: ReadyReport): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.session.ready(report);
      if (outcome.ok) return;
      if (outcome.error.retry && attempt < READY_ATTEMPTS) {
        await sleep(250 * 2 ** attempt);
        continue;
      }
      if (outcome.error.status === 409) this.link.close(LinkClose.sessionOver.code, LinkClose.sessionOver.reason);
      else await this.session.refuseReady(outcome.error.message);
      return;
    }
  }

  /** `path` is Chromium's: `/devtools/browser[/<id>]` or `/devtools/page/<targetId>`; or LIVE_CHANNEL_PATH with `live`. */
  private async connectClient(request: Request, path: string, live?: { readOnly: boolean; page?: string }): Promise<Response> {
    const r = this.session.record();
    if (!r) return answer(404, "Session not found");
    if (request.headers.get(VERIFIED_CLIENT.project) !== r.projectId) return answer(401, "signing key is for another project");
    if (r.status !== "RUNNING") return answer(409, `Session ${r.id} is not running (status ${r.status})`);
    const expiresAt = Number(request.headers.get(VERIFIED_CLIENT.expiresAt));
    const expected = this.relay.expect(OPEN_TIMEOUT_MS);
    const opened = await this.link.call({ op: "open", channel: expected.channel, path, expiresAt, ...live }, OPEN_TIMEOUT_MS);
    if (!opened.ok) {
      expected.cancel();
      (await expected.arrived)?.refuse(CloseCode.nodeError); // a channel that came before the failure
      const status = opened.error.status === 404 || opened.error.status === 503 ? opened.error.status : 502;
      return answer(status, opened.error.message);
    }
    const channel = await expected.arrived;
    if (!channel) return answer(502, "The session's browser node did not open the client's channel in time");
    const now = this.session.record();
    if (now?.status !== "RUNNING") {
      channel.refuse(CloseCode.idle);
      return answer(409, `Session ${r.id} is not running (status ${now?.status})`);
    }
    return channel.joinClient();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
