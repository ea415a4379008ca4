/** The Worker's cron: wakes the region's pool, which refills and re-arms its own alarm. */
import type { EdgeEnv } from "../env.ts";
import { readConfig } from "../config.ts";
import { log } from "../log.ts";
import { poolSettings } from "./pool-settings.ts";

export async function wakePools(env: EdgeEnv): Promise<void> {
  const settings = poolSettings(readConfig(env));
  try {
    await env.POOLS.getByName(settings.name).wake(settings);
  } catch (error) {
    log("warn", "pool.wake_failed", { pool: settings.name, error: String(error) });
  }
}
