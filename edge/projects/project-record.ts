/** A project in the Browserbase shape: its limits apply to every session created with its keys. */
export interface Project {
  id: string;
  name: string;
  ownerId: string;
  /** Sessions that may be PENDING or RUNNING at once. */
  concurrency: number;
  /** Session timeout in seconds when a create names none. */
  defaultTimeout: number;
  createdAt: string;
  updatedAt: string;
}

export const DEFAULT_CONCURRENCY = 5;
export const DEFAULT_TIMEOUT_SECONDS = 300;
export const MIN_TIMEOUT_SECONDS = 60;
export const MAX_TIMEOUT_SECONDS = 21_600;

export interface ProjectUsage {
  browserMinutes: number;
  proxyBytes: number;
}
