/** The Worker: the edge's HTTP app, its cron (which wakes the warm pool) and its three Durable Object classes. */
import { createApp } from "./app.ts";
import type { EdgeEnv } from "./env.ts";
import { useLogLevel } from "./log.ts";
import { wakePools } from "./pool/wake.ts";

export { SessionObject } from "./durable/session-object.ts";
export { ProjectObject } from "./durable/project-object.ts";
export { PoolObject } from "./pool/pool-object.ts";

const app = createApp();

export default {
  fetch: (request: Request, env: EdgeEnv, ctx: ExecutionContext) => {
    useLogLevel(env);
    return app.fetch(request, env, ctx);
  },
  scheduled: (_controller, env, ctx) => {
    useLogLevel(env);
    ctx.waitUntil(wakePools(env));
  },
} satisfies ExportedHandler<EdgeEnv>;
