/**
 * `npm run dev`: the whole platform on this machine. The edge listens on 127.0.0.1:8787 and the
 * ECS stand-in on 127.0.0.1:8786 (WALLCRAWLER_PORT / WALLCRAWLER_ECS_PORT change them); the dev
 * project's API key is generated at first start (WALLCRAWLER_API_KEY presets it, 24 characters or
 * more). State (Durable Objects, KV, R2, the generated secrets and key) lives in `.wallcrawler/`,
 * git-ignored, or in WALLCRAWLER_STATE_DIR. Ctrl-C stops every browser it started.
 */
import { PlatformError, repoRoot, startLocalPlatform } from "./platform.ts";

const port = (name: string, fallback: number) => {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    console.error(`${name} must be a port number (1-65535), got "${value}"`);
    process.exit(2);
  }
  return n;
};

const edgePort = port("WALLCRAWLER_PORT", 8787);
const ecsPort = port("WALLCRAWLER_ECS_PORT", 8786);
const verbose = process.env.WALLCRAWLER_VERBOSE === "1";
const stateDir = process.env.WALLCRAWLER_STATE_DIR || `${repoRoot}.wallcrawler`;

let platform: Awaited<ReturnType<typeof startLocalPlatform>>;
try {
  platform = await startLocalPlatform({
    edgePort,
    ecsPort,
    persist: `${stateDir}/wrangler-state`,
    secretsFile: `${stateDir}/dev-secrets.json`,
    projectFile: `${stateDir}/dev-project.json`,
    apiKey: process.env.WALLCRAWLER_API_KEY || undefined,
    onNodeOutput: verbose ? (line) => console.error(`[node] ${line}`) : undefined,
    logLevel: verbose ? "info" : "warn",
  });
} catch (error) {
  console.error(error instanceof PlatformError ? error.message : error);
  process.exit(1);
}

const { edgeUrl, apiKey, projectId } = platform;
console.log(`
Wallcrawler is running.
  edge (Browserbase API)   ${edgeUrl}
  ECS stand-in             ${platform.standIn.url}
  project                  ${projectId}
  API key                  ${apiKey}

Browserbase SDK:
  BROWSERBASE_API_KEY=${apiKey} BROWSERBASE_BASE_URL=${edgeUrl} node app.mjs
  // app.mjs
  import Browserbase from "@browserbasehq/sdk";
  import { chromium } from "playwright-core";
  const bb = new Browserbase();
  const session = await bb.sessions.create({});
  const browser = await chromium.connectOverCDP(session.connectUrl);
  const page = browser.contexts()[0].pages()[0];
  await page.goto("https://example.com");
  console.log(await page.title());
  await browser.close();

curl:
  curl -s -X POST ${edgeUrl}/v1/sessions -H "X-BB-API-Key: ${apiKey}" -H "content-type: application/json" -d '{}'

Ctrl-C stops the platform and every browser it started.
`);

// wrangler registers SIGINT/SIGTERM handlers that exit the process at once, which would orphan the
// browser nodes: ours replace them, stop every node, then dispose of workerd.
process.removeAllListeners("SIGINT");
process.removeAllListeners("SIGTERM");
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.error(`\n${signal}: stopping browser nodes and the edge ...`);
  await platform.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
