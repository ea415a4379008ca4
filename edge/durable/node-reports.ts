/**
 * What a session's node reports over its link: `ready` (its browser runs: the session becomes
 * RUNNING and its create answers) and `exit` (the node ends: the session ends with its reason).
 * Late, repeated or stray reports move nothing; a session that is over only answers 409.
 */
import type { NodeExit } from "../node-protocol.ts";
import type { EdgeEnv } from "../env.ts";
import { fail, ok, type Outcome } from "../errors.ts";
import { signCdpToken, signingKey } from "../tokens.ts";
import { statusForExit } from "../sessions/endings.ts";
import { isFinal, type NodeAddress } from "../sessions/session-record.ts";
import type { ReadyReport } from "./node-sockets.ts";
import { NOT_FOUND, type SessionLifecycle } from "./session-lifecycle.ts";
import type { SessionStore } from "./session-store.ts";
import type { SessionTask } from "./session-task.ts";
import type { ArtifactLedger } from "./artifact-ledger.ts";

export class NodeReports {
  constructor(
    private readonly store: SessionStore,
    private readonly env: EdgeEnv,
    private readonly lifecycle: SessionLifecycle,
    private readonly task: SessionTask,
    private readonly ledger: ArtifactLedger,
  ) {}

  /** The node's `ready`. In direct mode it names its proxy's port, and its host when it knows it. */
  async ready(report: ReadyReport): Promise<Outcome<{ status: "RUNNING" }>> {
    const r = this.store.load();
    if (!r) return fail(404, NOT_FOUND);
    if (r.status === "RUNNING") return ok({ status: "RUNNING" });
    if (isFinal(r.status)) return fail(409, `The session is over (${r.status}); the node should exit`);
    const node: NodeAddress = { browserVersion: report.browserVersion };
    if (r.connectMode !== "edge") {
      if (!report.direct) return fail(400, "ready: CONNECT_MODE is direct, but the node named no address (direct.port)");
      node.port = report.direct.port;
      node.host = report.direct.host ?? (await this.task.host());
      if (!node.host) return fail(503, "The node's address could not be resolved yet", true);
    }
    const token = await signCdpToken(await signingKey(this.env), { sessionId: r.id, projectId: r.projectId, expiresAtMs: r.expiresAt });
    const now = this.store.require(); // the session may have moved during the awaits
    if (now.status !== "PENDING") return now.status === "RUNNING" ? ok({ status: "RUNNING" }) : fail(409, `The session is over (${now.status})`);
    await this.lifecycle.run(node, token);
    return ok({ status: "RUNNING" });
  }

  /** A `ready` that cannot be taken: the session fails, and its create with it. */
  refused(message: string): Promise<void> {
    return this.lifecycle.finish("ERROR", `ready refused: ${message}`, {
      stop: true,
      failure: { status: 502, message: `The browser node could not start: ${message}`, retry: false },
    });
  }

  /**
   * The node's running `proxyBytes` (its `usage` reports and its `exit`): totals, so only a larger
   * one changes the session, which then reaches its project's list and usage.
   */
  async usage(proxyBytes: number): Promise<Outcome<{ proxyBytes: number }>> {
    const access = this.ledger.nodeMayWrite("usage");
    if (!access.ok) return access;
    const r = this.store.require();
    if (proxyBytes <= (r.proxyBytes ?? 0)) return ok({ proxyBytes: r.proxyBytes ?? 0 });
    this.store.update({ proxyBytes, version: r.version + 1 });
    await this.lifecycle.reportToProject();
    return ok({ proxyBytes });
  }

  async exit(report: NodeExit): Promise<Outcome<{ status: string }>> {
    if (!this.store.load()) return fail(404, NOT_FOUND);
    if (report.proxyBytes !== undefined) await this.usage(report.proxyBytes);
    const why = `${report.reason}${report.detail ? ` (${report.detail})` : ""}`;
    await this.lifecycle.finish(statusForExit(report.reason), `node exited: ${why}`, {
      stop: true,
      failure: { status: 502, message: `The browser node could not start: ${why}`, retry: false },
      fromNode: true,
    });
    await this.lifecycle.releaseContext(); // the node saves its context before it reports its exit
    return ok({ status: this.store.require().status });
  }
}
