/**
 * Callbacks to the edge: `ready`, `heartbeat`, `exit`, each a JSON POST to the session's
 * callback path with the node token as Bearer. Bodies have the shared protocol's types; the
 * edge checks them with its schemas.
 */
import { nodeCallbackPath, type HeartbeatReply, type NodeExit, type NodeHeartbeat, type NodeReady } from "../edge/node-protocol.ts";
import { requestJson, type JsonResponse } from "./http-json.ts";
import { log } from "./log.ts";
import { NodeError } from "./node-error.ts";

type Kind = "ready" | "heartbeat" | "exit";

export interface EdgeClient {
  /** Retries until `deadline` (epoch ms); throws NodeError("not-ready") if the edge never took it. */
  ready(body: NodeReady, deadline: number): Promise<void>;
  /** One attempt; undefined when the edge did not answer usefully. */
  heartbeat(): Promise<HeartbeatReply | undefined>;
  /** A few quick attempts; never throws (the node exits either way). */
  exit(body: NodeExit): Promise<boolean>;
}

const ATTEMPT_TIMEOUT_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 408, 429 and 5xx may succeed later; any other refusal will not. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

export function createEdgeClient(options: { edgeUrl: URL; sessionId: string; nodeToken: string }): EdgeClient {
  const ok = (res: JsonResponse) => res.status >= 200 && res.status < 300;

  function post(kind: Kind, body: unknown, timeoutMs = ATTEMPT_TIMEOUT_MS): Promise<JsonResponse> {
    const url = new URL(nodeCallbackPath(options.sessionId, kind), options.edgeUrl);
    return requestJson(url, { headers: { authorization: `Bearer ${options.nodeToken}` }, body, timeoutMs });
  }

  /** Posts until accepted, refused for good, or out of attempts/time. Returns the last response. */
  async function postWithRetries(kind: Kind, body: unknown, until: number, maxAttempts: number) {
    let delay = 200;
    let lastProblem = "";
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const left = until - Date.now();
      if (left <= 0) break;
      try {
        const res = await post(kind, body, Math.min(ATTEMPT_TIMEOUT_MS, left));
        if (ok(res) || !retryable(res.status)) return { res, problem: "" };
        lastProblem = `HTTP ${res.status}`;
      } catch (err) {
        lastProblem = err instanceof Error ? err.message : String(err);
      }
      log("edge-callback-retry", { kind, attempt, problem: lastProblem }, "warn");
      await sleep(Math.min(delay, Math.max(0, until - Date.now())));
      delay = Math.min(delay * 2, 3000);
    }
    return { res: undefined, problem: lastProblem || "deadline passed" };
  }

  return {
    async ready(body, deadline) {
      const { res, problem } = await postWithRetries("ready", body, deadline, Number.POSITIVE_INFINITY);
      if (!res || !ok(res)) throw new NodeError("not-ready", `the edge did not accept ready: ${res ? `HTTP ${res.status}` : problem}`);
    },

    async heartbeat() {
      try {
        const res = await post("heartbeat", {} satisfies NodeHeartbeat);
        if (!ok(res)) {
          log("heartbeat-refused", { status: res.status }, "warn");
          return undefined;
        }
        const reply = res.body as Partial<HeartbeatReply> | undefined;
        return typeof reply?.end === "boolean" ? { end: reply.end } : undefined;
      } catch (err) {
        log("heartbeat-failed", { problem: err instanceof Error ? err.message : String(err) }, "warn");
        return undefined;
      }
    },

    async exit(body) {
      const { res } = await postWithRetries("exit", body, Date.now() + 4000, 3);
      return res !== undefined && ok(res);
    },
  };
}
