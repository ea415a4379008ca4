/** Schemas shared by every route: the error body, and the answers every authenticated route may give. */
import { z } from "@hono/zod-openapi";

export const ErrorBody = z.object({ message: z.string() }).openapi("Error");

export const error = (description: string) => ({ content: { "application/json": { schema: ErrorBody } }, description });

export const errors = {
  400: error("Bad request: the message names the field"),
  401: error("Missing, unknown or revoked key"),
  404: error("Not found (or not this project's)"),
} as const;

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/**
 * A JSON body. Optional ones read a bodyless request as `{}`; a required one is validated even
 * without a content type, so a bare POST cannot stand for what its schema demands.
 */
export const jsonBody = <T extends z.ZodType>(schema: T, options: { required?: boolean } = {}) => ({
  content: { "application/json": { schema } },
  required: options.required ?? false,
});
