/**
 * Parts of the Browserbase API that Wallcrawler does not serve yet. They answer 501 with a JSON
 * message (after authentication), so clients fail clearly instead of on a 404.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

export const notBuilt = new Hono<AppEnv>();

const parts: [string, string[]][] = [
  ["contexts", ["/v1/contexts", "/v1/contexts/:id"]],
  ["extensions", ["/v1/extensions", "/v1/extensions/:id"]],
  ["session downloads", ["/v1/sessions/:id/downloads"]],
  ["session uploads", ["/v1/sessions/:id/uploads"]],
  ["session logs", ["/v1/sessions/:id/logs"]],
  ["session recordings", ["/v1/sessions/:id/recording"]],
];

for (const [name, paths] of parts)
  notBuilt.on(["GET", "POST", "PUT", "DELETE"], paths, () => {
    throw new ApiError(501, `Not implemented yet: ${name} are not available in Wallcrawler`);
  });
