/** Projects, API keys and usage: the Browserbase project shape, and the admin API's bodies. */
import { z } from "@hono/zod-openapi";
import { MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS } from "../projects/project-record.ts";

export const Project = z
  .object({
    id: z.string(),
    name: z.string(),
    ownerId: z.string(),
    concurrency: z.number().int(),
    defaultTimeout: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("Project");

export const ProjectUsage = z.object({ browserMinutes: z.number(), proxyBytes: z.number() }).openapi("ProjectUsage");

export const ProjectIdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

const concurrency = z.number().int().min(1).max(10_000);
const defaultTimeout = z.number().int().min(MIN_TIMEOUT_SECONDS).max(MAX_TIMEOUT_SECONDS);

export const ProjectCreateBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    concurrency: concurrency.optional(),
    defaultTimeout: defaultTimeout.optional(),
    ownerId: z.string().min(1).max(200).optional(),
  })
  .openapi("ProjectCreateParams");

export const ProjectUpdateBody = z
  .object({ name: z.string().trim().min(1).max(200).optional(), concurrency: concurrency.optional(), defaultTimeout: defaultTimeout.optional() })
  .openapi("ProjectUpdateParams");

export const ApiKeyInfo = z
  .object({ id: z.string(), projectId: z.string(), createdAt: z.iso.datetime(), name: z.string().optional() })
  .openapi("ApiKey");

export const ApiKeyCreated = ApiKeyInfo.extend({ key: z.string().openapi({ description: "Shown only in this answer" }) }).openapi("ApiKeyCreated");

export const ApiKeyCreateBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    key: z.string().min(24).max(256).regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces").optional(),
  })
  .openapi("ApiKeyCreateParams");

export const KeyParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" } }),
  keyId: z.string().openapi({ param: { name: "keyId", in: "path" } }),
});
