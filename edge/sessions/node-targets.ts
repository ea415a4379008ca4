/** The node's CDP target list, read through its proxy for `GET /v1/sessions/{id}/debug`. */
import { ApiError } from "../errors.ts";
import type { CdpTarget } from "./debug-urls.ts";
import { answerJson, getFromNode, type NodeAnswer } from "./node-http.ts";
import type { NodeAddress } from "./session-record.ts";

/** Reads the node's targets through its proxy (`/json/list`, token in the query). */
export async function fetchTargets(node: NodeAddress, scheme: "ws" | "wss", token: string): Promise<CdpTarget[]> {
  let answer: NodeAnswer;
  try {
    answer = await getFromNode(node, `/json/list?signingKey=${encodeURIComponent(token)}`, { tls: scheme === "wss", timeoutMs: 5_000 });
  } catch {
    throw new ApiError(502, "The session's browser node did not answer", { retry: true });
  }
  if (answer.status !== 200) throw new ApiError(502, `The session's browser node answered ${answer.status} to its target list`, { retry: true });
  const targets = answerJson(answer);
  if (!Array.isArray(targets)) throw new ApiError(502, "The session's browser node sent no target list", { retry: true });
  return targets as CdpTarget[];
}
