/**
 * A pool's ECS calls: RunTask for a new member (clientToken = its id, so a retried RunTask starts
 * nothing twice; startedBy `wp-<id>`, so its events come to the pool) and the StopTasks the pool
 * owes, retried by its alarm until ECS takes them.
 */
import { POOL_STARTED_BY_PREFIX } from "../node-protocol.ts";
import type { EdgeEnv } from "../env.ts";
import { readConfig } from "../config.ts";
import { ApiError } from "../errors.ts";
import { log } from "../log.ts";
import { awsCredentials } from "../aws/aws-call.ts";
import { EcsClient } from "../aws/ecs-client.ts";
import { signingKey, signPoolLinkToken } from "../tokens.ts";
import { memberEnvironment } from "../sessions/node-env.ts";
import { MAX_STOP_ATTEMPTS } from "../sessions/alarm-plan.ts";
import type { MemberStore } from "./member-store.ts";
import { bootstrapTokenExpiry, type PoolSettings } from "./pool-settings.ts";

export class MemberTasks {
  private ecsClient?: EcsClient;

  constructor(
    private readonly env: EdgeEnv,
    private readonly members: MemberStore,
  ) {}

  ecs(): EcsClient {
    if (this.ecsClient) return this.ecsClient;
    const credentials = awsCredentials(this.env);
    if (!credentials) throw new ApiError(503, "The edge has no AWS credentials configured", { retry: false });
    return (this.ecsClient = new EcsClient(readConfig(this.env).ecs, credentials));
  }

  /**
   * Records a new member as starting, then starts its task. False when RunTask failed (the member
   * is forgotten: a task its lost answer may have started is a stray the pool stops on sight).
   */
  async start(s: PoolSettings & { edgeUrl: string }): Promise<boolean> {
    const id = crypto.randomUUID();
    const now = Date.now();
    this.members.put({ id, state: "starting", since: now, createdAt: now });
    try {
      const bootstrapToken = await signPoolLinkToken(await signingKey(this.env), { pool: s.name, memberId: id, expiresAtMs: bootstrapTokenExpiry(now, s) });
      const environment = memberEnvironment({ edgeUrl: s.edgeUrl, pool: s.name, memberId: id, bootstrapToken, reserved: false });
      const task = await this.ecs().runTask({ clientToken: id, startedBy: POOL_STARTED_BY_PREFIX + id, environment });
      log("info", "pool.member_started", { pool: s.name, memberId: id, taskArn: task.taskArn });
      // Its link may have come and gone while RunTask was in flight: then its task is a stray.
      if (!this.members.update(id, { taskArn: task.taskArn })) await this.stop(task.taskArn, "pool member lost before it started");
      return true;
    } catch (error) {
      this.members.delete(id);
      log("warn", "pool.run_task_failed", { pool: s.name, memberId: id, error: error instanceof Error ? error.message : String(error) });
      return false;
    }
  }

  /** Owes ECS a StopTask for `taskArn` and pays it now if it can (else the alarm retries). */
  async stop(taskArn: string | undefined, reason: string): Promise<void> {
    if (!taskArn) return;
    this.members.oweStop(taskArn, reason);
    await this.payStops([taskArn]);
  }

  /** Sends the StopTasks owed (only `only`, when given). */
  async payStops(only?: string[]): Promise<void> {
    for (const stop of this.members.owedStops()) {
      if (only && !only.includes(stop.taskArn)) continue;
      try {
        await this.ecs().stopTask(stop.taskArn, `wallcrawler: ${stop.reason}`);
        this.members.stopDone(stop.taskArn);
      } catch (error) {
        if (stop.attempts + 1 >= MAX_STOP_ATTEMPTS) {
          log("error", "pool.stop_given_up", { taskArn: stop.taskArn, error: String(error) });
          this.members.stopDone(stop.taskArn);
        } else {
          log("warn", "pool.stop_failed", { taskArn: stop.taskArn, attempt: stop.attempts, error: String(error) });
          this.members.stopFailed(stop);
        }
      }
    }
  }
}
