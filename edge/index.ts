/** The Worker: the edge's HTTP app, its cron (which wakes the warm pool) and its three Durable Object classes. */
import { createApp } from "./app.ts";
import type { EdgeEnv } from "./env.ts";
import { wakePools } from "./pool/wake.ts";

export { SessionObject } from "./durable/session-object.ts";
export { ProjectObject } from "./durable/project-object.ts";
export { PoolObject } from "./pool/pool-object.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: (_controller, env, ctx) => ctx.waitUntil(wakePools(env)),
} satisfies ExportedHandler<EdgeEnv>;
