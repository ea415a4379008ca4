/**
 * The node's artifact calls to the edge (`/internal/nodes/<session>/<kind>`, and the uploads the
 * edge staged), with the node token as Bearer: the one the link's `welcome` brought, so each call
 * waits for the link to have opened once. Files stream from and to disk, never whole in memory (a
 * profile or a downloads zip may be 100 MiB); batches of logs and recording events go as JSON
 * through http-json.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { stat, rm } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { pipeline } from "node:stream/promises";
import { nodeArtifactPath, nodeStagedUploadPath, type ArtifactKind } from "../../edge/node-protocol.ts";
import { mayPassLater, retrying, type RetryPolicy } from "../../edge/retries.ts";
import { requestJson, type JsonResponse } from "../http-json.ts";
import { log } from "../log.ts";
import { NodeError } from "../node-error.ts";
import { ByteLimit } from "./archive.ts";

export interface EdgeArtifacts {
  /** GETs `kind` into `file`; false when the edge has none (404). Throws NodeError on anything else. */
  fetchFile(kind: "extension" | "context", file: string, maxBytes: number): Promise<boolean>;
  /** GETs the upload the edge staged as `name` into `file`, as fetchFile does (false: none staged). */
  fetchUpload(name: string, file: string, maxBytes: number): Promise<boolean>;
  /** PUTs `file` as `kind`; throws NodeError when the edge did not take it. */
  putFile(kind: "context" | "downloads", file: string, contentType: string): Promise<void>;
  /** POSTs a batch (its JSON text); the edge's answer (its status decides what the caller does next). */
  postBatch(kind: "logs" | "recording" | "usage", json: string): Promise<JsonResponse>;
}

/** Three tries, 0.6 s and 1.2 s apart. */
const RETRIES: RetryPolicy = { attempts: 3, firstDelayMs: 600, maxDelayMs: 1200 };
const ATTEMPT_TIMEOUT_MS = 30_000;

const problemOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The edge answered with a status that may pass later. */
class AskedToRetry extends Error {
  constructor() {
    super("the edge asked to retry");
  }
}

/** The edge's `{message}` of a refusal, cut short, for an error or a log line. */
async function refusal(res: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of res) if (text.length < 500) text += String(chunk);
  try {
    return `HTTP ${res.statusCode}: ${(JSON.parse(text) as { message?: string }).message ?? text}`.slice(0, 300);
  } catch {
    return `HTTP ${res.statusCode}: ${text}`.slice(0, 300);
  }
}

export function createEdgeArtifacts(options: { edgeUrl: URL; sessionId: string; nodeToken: () => Promise<string> }): EdgeArtifacts {
  const url = (kind: ArtifactKind) => new URL(nodeArtifactPath(options.sessionId, kind), options.edgeUrl);
  const auth = async () => ({ authorization: `Bearer ${await options.nodeToken()}` });

  async function send(target: URL, method: string, headers: Record<string, string | number>, body?: () => NodeJS.ReadableStream) {
    const request = target.protocol === "https:" ? httpsRequest : httpRequest;
    const authorization = await auth();
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(target, { method, headers: { ...authorization, ...headers }, timeout: ATTEMPT_TIMEOUT_MS }, resolve);
      req.on("timeout", () => req.destroy(new Error(`no answer from the edge within ${ATTEMPT_TIMEOUT_MS} ms`)));
      req.on("error", reject);
      if (body) body().on("error", (err) => req.destroy(err)).pipe(req);
      else req.end();
    });
  }

  /** One call, retried on network errors and AskedToRetry; a NodeError is final. */
  async function withRetries<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await retrying(RETRIES, attempt, (err, i) => {
        if (err instanceof NodeError) return false;
        log("artifact-retry", { what, attempt: i, problem: problemOf(err) }, "warn");
        return true;
      });
    } catch (err) {
      if (err instanceof NodeError) throw err;
      throw new NodeError("error", `${what}: ${problemOf(err)}`, { status: 502 });
    }
  }

  /** GETs `target` into `file` (at most `maxBytes`); false on 404. A cut transfer leaves no file and is retried. */
  function fetchInto(target: URL, what: string, file: string, maxBytes: number) {
    return withRetries(`GET ${what}`, async () => {
      const res = await send(target, "GET", {});
      if (res.statusCode === 404) {
        res.resume();
        return false;
      }
      if (res.statusCode !== 200) {
        const why = await refusal(res);
        if (mayPassLater(res.statusCode ?? 0)) throw new AskedToRetry();
        throw new NodeError("not-ready", `the edge refused ${what}: ${why}`, { status: 502 });
      }
      try {
        await pipeline(res, new ByteLimit(maxBytes, what), createWriteStream(file));
      } catch (err) {
        await rm(file, { force: true });
        throw err; // over the bound (a NodeError): final; a cut transfer: retried
      }
      return true;
    });
  }

  return {
    fetchFile(kind, file, maxBytes) {
      return fetchInto(url(kind), `the session's ${kind}`, file, maxBytes);
    },

    fetchUpload(name, file, maxBytes) {
      return fetchInto(new URL(nodeStagedUploadPath(options.sessionId, name), options.edgeUrl), `the upload ${JSON.stringify(name)}`, file, maxBytes);
    },

    async putFile(kind, file, contentType) {
      const { size } = await stat(file);
      await withRetries(`PUT ${kind}`, async () => {
        const res = await send(url(kind), "PUT", { "content-type": contentType, "content-length": size }, () => createReadStream(file));
        if (res.statusCode === 200 || res.statusCode === 201 || res.statusCode === 204) {
          res.resume();
          return undefined;
        }
        const why = await refusal(res);
        if (mayPassLater(res.statusCode ?? 0)) throw new AskedToRetry();
        throw new NodeError("error", `the edge refused the session's ${kind} (${size} bytes): ${why}`);
      });
    },

    async postBatch(kind, json) {
      return withRetries(`POST ${kind}`, async () => {
        const res = await requestJson(url(kind), { headers: await auth(), json, timeoutMs: ATTEMPT_TIMEOUT_MS });
        if (mayPassLater(res.status)) throw new AskedToRetry();
        return res;
      });
    },
  };
}
