/** A browser node started as a child process against a fake edge, assigned a session, waited for until it sent `ready`. */
import { FakeEdge } from "./fake-edge.ts";
import { signCdpToken, type SigningKey } from "./keys.ts";
import { startNode, type NodeOptions, type RunningNode } from "./node-process.ts";

export interface ReadyNode {
  node: RunningNode;
  edge: FakeEdge;
  key: SigningKey;
  /** The `ready` message the node sent over its link. */
  ready: { t: "ready"; browserVersion: string; direct?: { host?: string; port: number } };
  /** Direct mode: the proxy's port (0 in edge mode, where the node listens on none). */
  port: number;
  /** A valid CDP token for this node's session. */
  token: string;
  /** Where a CDP client connects, token included: the fake edge (edge mode) or the node's proxy (direct). */
  cdpUrl: string;
  /** The node's last "browser-started" log line before `ready`: Chromium's pid, debug port, profile dir. */
  started: { pid: number; debugPort: number; profileDir: string };
  /** SIGTERM, wait for the exit, and stop the fake edge if this call made it. */
  stop(): Promise<void>;
}

export async function startReadyNode(options: Partial<NodeOptions> = {}): Promise<ReadyNode> {
  const { edge: givenEdge, ...nodeOptions } = options;
  const edge = givenEdge ?? (await FakeEdge.start());
  const node = await startNode({ ...nodeOptions, edge });
  const sessionId = node.sessionId;
  const ready = await Promise.race([
    edge.waitFor(sessionId, "ready", 60_000),
    node.exited.then(() => Promise.reject(new Error(`node exited before ready: ${node.stderr().slice(-2000)} ${JSON.stringify(node.logs).slice(-2000)}`))),
  ]);
  await node.waitForLog("ready");
  const started = node.logs.filter((l) => l.event === "browser-started").at(-1);
  const token = await signCdpToken(edge.key, { sub: sessionId, pid: node.projectId });
  const port = ready.direct?.port ?? 0;
  const cdpUrl = ready.direct ? `ws://127.0.0.1:${port}/?signingKey=${token}` : `${edge.url.replace(/^http/, "ws")}/cdp/${sessionId}?signingKey=${token}`;
  return {
    node,
    edge,
    key: edge.key,
    ready,
    port,
    token,
    cdpUrl,
    started,
    async stop() {
      node.child.kill("SIGTERM");
      await node.exited;
      if (!givenEdge) await edge.stop();
    },
  };
}
