/**
 * Parts of the Browserbase API that Wallcrawler does not serve yet: the video replays and the
 * recording's MP4 downloads (the rrweb recording itself is served). They answer 501 with a JSON
 * message (after authentication), so clients fail clearly instead of on a 404.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

export const notBuilt = new Hono<AppEnv>();

const parts: [string, string[]][] = [
  ["session replays", ["/v1/sessions/:id/replays", "/v1/sessions/:id/replays/:pageId"]],
  ["recording downloads (MP4)", ["/v1/sessions/:id/recording/downloads"]],
];

for (const [name, paths] of parts)
  notBuilt.on(["GET", "POST"], paths, () => {
    throw new ApiError(501, `Not implemented yet: ${name} are not available in Wallcrawler`);
  });
