/** A browser node started as a child process and waited for until it posted `ready`. */
import { EdgeRecorder } from "./edge-recorder.ts";
import { makeSigningKey, signCdpToken, type SigningKey } from "./keys.ts";
import { startNode, type NodeOptions, type RunningNode } from "./node-process.ts";

export interface ReadyNode {
  node: RunningNode;
  edge: EdgeRecorder;
  key: SigningKey;
  port: number;
  /** A valid CDP token for this node's session. */
  token: string;
  /** The node's "browser-started" log line: Chromium's pid, debug port, profile dir. */
  started: { pid: number; debugPort: number; profileDir: string };
  /** SIGTERM, wait for the exit, and stop the edge recorder if this call made it. */
  stop(): Promise<void>;
}

export async function startReadyNode(
  options: Partial<NodeOptions> & { edge?: EdgeRecorder; key?: SigningKey } = {},
): Promise<ReadyNode> {
  const { edge: givenEdge, key: givenKey, ...nodeOptions } = options;
  const edge = givenEdge ?? new EdgeRecorder();
  if (!givenEdge) await edge.start();
  const key = givenKey ?? (await makeSigningKey());
  const node = startNode({ jwks: key.jwks, ...nodeOptions, edgeUrl: edge.url });
  const ready = await edge.waitFor("ready", node.sessionId);
  const started = await node.waitForLog("browser-started");
  const token = await signCdpToken(key, { sub: node.sessionId, pid: node.projectId });
  return {
    node,
    edge,
    key,
    port: ready.body.port,
    token,
    started,
    async stop() {
      node.child.kill("SIGTERM");
      await node.exited;
      if (!givenEdge) await edge.stop();
    },
  };
}
