/**
 * `npm run admin -- <command>`: the admin API from a terminal. Talks to the edge at
 * WALLCRAWLER_EDGE_URL (default http://127.0.0.1:8787) with the token in WALLCRAWLER_ADMIN_TOKEN
 * (an environment variable, so it never shows in the process list). Prints JSON on stdout.
 *
 *   projects create --name <name> [--concurrency <n>] [--default-timeout <seconds>] [--owner <id>]
 *   projects list
 *   projects get <projectId>
 *   projects update <projectId> [--name <name>] [--concurrency <n>] [--default-timeout <seconds>]
 *   keys create <projectId> [--name <name>] [--key <preset key>]   (the key is shown once)
 *   keys list <projectId>
 *   keys revoke <projectId> <keyId>
 *   pools list                                                     (the warm pools: members and their states)
 *   sessions node <sessionId>                                      (the pool member and ECS task serving a session)
 */
import { parseArgs } from "node:util";

const USAGE = `usage: npm run admin -- <command>
  projects create --name <name> [--concurrency <n>] [--default-timeout <seconds>] [--owner <id>]
  projects list
  projects get <projectId>
  projects update <projectId> [--name <name>] [--concurrency <n>] [--default-timeout <seconds>]
  keys create <projectId> [--name <name>] [--key <preset key>]
  keys list <projectId>
  keys revoke <projectId> <keyId>
  pools list
  sessions node <sessionId>
environment: WALLCRAWLER_EDGE_URL (default http://127.0.0.1:8787), WALLCRAWLER_ADMIN_TOKEN (required)`;

class UsageError extends Error {}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: "string" },
    concurrency: { type: "string" },
    "default-timeout": { type: "string" },
    owner: { type: "string" },
    key: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

const integer = (flag: string) => {
  const raw = flags[flag as keyof typeof flags];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new UsageError(`--${flag} must be an integer, got "${raw}"`);
  return n;
};

const arg = (index: number, what: string) => {
  const value = positionals[index];
  if (!value) throw new UsageError(`missing ${what}`);
  return value;
};

/** The request a command makes: [method, path, body]. */
function request(): [string, string, unknown?] {
  const [resource, action] = positionals;
  const project = () => encodeURIComponent(arg(2, "<projectId>"));
  const settings = () => ({ name: flags.name, concurrency: integer("concurrency"), defaultTimeout: integer("default-timeout") });
  switch (`${resource} ${action}`) {
    case "projects create":
      if (!flags.name) throw new UsageError("projects create needs --name");
      return ["POST", "/admin/projects", { ...settings(), ownerId: flags.owner }];
    case "projects list":
      return ["GET", "/admin/projects"];
    case "projects get":
      return ["GET", `/admin/projects/${project()}`];
    case "projects update":
      return ["PATCH", `/admin/projects/${project()}`, settings()];
    case "keys create":
      return ["POST", `/admin/projects/${project()}/keys`, { name: flags.name, key: flags.key }];
    case "keys list":
      return ["GET", `/admin/projects/${project()}/keys`];
    case "keys revoke":
      return ["DELETE", `/admin/projects/${project()}/keys/${encodeURIComponent(arg(3, "<keyId>"))}`];
    case "pools list":
      return ["GET", "/admin/pools"];
    case "sessions node":
      return ["GET", `/admin/sessions/${encodeURIComponent(arg(2, "<sessionId>"))}/node`];
    default:
      throw new UsageError(positionals.length ? `unknown command "${positionals.join(" ")}"` : "no command");
  }
}

async function main(): Promise<number> {
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const [method, path, body] = request();
  const token = process.env.WALLCRAWLER_ADMIN_TOKEN;
  if (!token) throw new UsageError("set WALLCRAWLER_ADMIN_TOKEN to the edge's ADMIN_TOKEN");
  const base = (process.env.WALLCRAWLER_EDGE_URL || "http://127.0.0.1:8787").replace(/\/+$/, "");
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    console.error(`cannot reach the edge at ${base}: ${(error as Error).cause ?? (error as Error).message}`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message: string }).message;
    } catch {
      // not JSON: print it as it came
    }
    console.error(`${method} ${path}: ${res.status} ${message}`);
    return 1;
  }
  console.log(text ? JSON.stringify(JSON.parse(text), null, 2) : JSON.stringify({ ok: true }));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof UsageError ? `${error.message}\n\n${USAGE}` : error);
    process.exit(2);
  },
);
