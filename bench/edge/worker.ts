/**
 * The bench's Worker: the edge exactly as deployed, plus a bare Hono route beside it in the same
 * workerd, so both are measured under the same runtime, transport and machine load.
 */
import { Hono } from "hono";
import edge from "../../edge/index.ts";

// Every Durable Object class the edge exports (wrangler.toml binds them all), whatever comes next.
export * from "../../edge/index.ts";

const bare = new Hono();
bare.get("/bare/sessions/:id", (c) => c.json({ id: c.req.param("id"), status: "RUNNING" }));

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    return new URL(request.url).pathname.startsWith("/bare/") ? bare.fetch(request, env, ctx) : edge.fetch(request, env, ctx);
  },
};
