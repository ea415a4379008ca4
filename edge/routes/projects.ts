/** `/v1/projects`: an API key sees exactly one project, its own. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { ApiError, unwrap, validationHook } from "../errors.ts";
import { errors, json } from "../schemas/common.ts";
import { Project, ProjectIdParam, ProjectUsage } from "../schemas/project.ts";

export const projects = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
const tags = ["projects"];

/** The key's project object, if `id` names it; otherwise 404 (another project's id is not found). */
const ownProject = (c: { env: AppEnv["Bindings"]; get(key: "projectId"): string }, id?: string) => {
  const projectId = c.get("projectId");
  if (id !== undefined && id !== projectId) throw new ApiError(404, "Project not found");
  return c.env.PROJECTS.getByName(projectId);
};


projects.openapi(
  createRoute({ method: "get", path: "/v1/projects", tags, responses: { 200: json(Project.array(), "The key's project"), ...errors } }),
  async (c) => c.json([unwrap(await ownProject(c).get())], 200),
);

projects.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}",
    tags,
    request: { params: ProjectIdParam },
    responses: { 200: json(Project, "The project"), ...errors },
  }),
  async (c) => c.json(unwrap(await ownProject(c, c.req.valid("param").id).get()), 200),
);

projects.openapi(
  createRoute({
    method: "get",
    path: "/v1/projects/{id}/usage",
    tags,
    request: { params: ProjectIdParam },
    responses: { 200: json(ProjectUsage, "Browser minutes and bytes through upstream proxies so far"), ...errors },
  }),
  async (c) => c.json(unwrap(await ownProject(c, c.req.valid("param").id).usage()), 200),
);
