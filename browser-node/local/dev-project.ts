/**
 * Makes sure the local platform has a project and an API key that works, through the edge's own
 * admin API (the same one `npm run admin` uses). The key's plain text is kept only in the
 * git-ignored project file, so a restarted `npm run dev` prints the same key.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { PlatformError } from "./platform-error.ts";

export interface DevProject {
  projectId: string;
  apiKey: string;
}

export async function ensureDevProject(
  edgeUrl: string,
  adminToken: string,
  options: { apiKey?: string; concurrency?: number; projectFile?: string },
): Promise<DevProject> {
  const saved = options.projectFile && existsSync(options.projectFile)
    ? (JSON.parse(readFileSync(options.projectFile, "utf8")) as DevProject)
    : undefined;
  const wanted = options.apiKey ?? saved?.apiKey;
  if (wanted) {
    const projectId = await projectOfKey(edgeUrl, wanted);
    if (projectId) return { projectId, apiKey: wanted };
  }

  const admin = async (path: string, body: unknown) => {
    const res = await fetch(`${edgeUrl}/admin${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = (await res.json().catch(() => ({}))) as Record<string, any>;
    if (!res.ok) throw new PlatformError(`admin ${path} answered ${res.status}: ${answer.message ?? "no message"}`);
    return answer;
  };
  const project = await admin("/projects", { name: "dev", concurrency: options.concurrency ?? 5 });
  const key = await admin(`/projects/${project.id}/keys`, { name: "dev", ...(wanted ? { key: wanted } : {}) });
  const created = { projectId: String(project.id), apiKey: String(key.key) };
  if (options.projectFile) {
    mkdirSync(dirname(options.projectFile), { recursive: true });
    writeFileSync(options.projectFile, JSON.stringify(created, null, 2), { mode: 0o600 });
  }
  return created;
}

/** The project a key belongs to, or undefined when the edge does not know the key. */
async function projectOfKey(edgeUrl: string, apiKey: string): Promise<string | undefined> {
  const res = await fetch(`${edgeUrl}/v1/projects`, { headers: { "X-BB-API-Key": apiKey } });
  if (res.status === 401) return undefined;
  if (!res.ok) throw new PlatformError(`GET /v1/projects answered ${res.status}`);
  const projects = (await res.json()) as { id: string }[];
  return projects[0]?.id;
}
