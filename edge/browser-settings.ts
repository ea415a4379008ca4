/**
 * The rules for the `browserSettings` a node applies, held once for both sides: the edge builds
 * its zod schema from these bounds and defaults (`edge/schemas/session.ts`), and the node checks
 * what it is started with through `normalizeBrowserSettings` (`browser-node/config.ts`). A setting
 * the edge lets through is one the node takes, so a node never refuses to start over a setting.
 *
 * Like `node-protocol.ts` this module is in the node's bundle: plain constants and pure
 * functions, no Workers or Node APIs and no libraries.
 */

export interface Viewport {
  width: number;
  height: number;
}

/** Inclusive bounds of a viewport side, in CSS pixels (8K at most). */
export const VIEWPORT_BOUNDS = {
  width: { min: 100, max: 7680 },
  height: { min: 100, max: 4320 },
} as const;

/**
 * The browser window of a session that names no viewport, and the side a viewport leaves out
 * (`{width: 1280}` is 1280 × 768), as a user who sets one side expects. Chromium's own headless
 * window (780 × 580, measured) is narrower than most sites' desktop layouts.
 */
export const DEFAULT_VIEWPORT: Viewport = { width: 1024, height: 768 };

/** The part of Browserbase's `browserSettings` the node applies; other keys are kept for later. */
export interface BrowserSettings {
  /** Both sides, once normalised. */
  viewport?: Viewport;
  /** Fetched from the edge and loaded unpacked (the edge folds a top-level `extensionId` in here). */
  extensionId?: string;
  /** Start from this context's saved profile; with `persist`, save the profile back at the end. */
  context?: { id: string; persist?: boolean; [key: string]: unknown };
  /** false: record no CDP traffic (default true). */
  logSession?: boolean;
  /** false: record no rrweb events (default true). */
  recordSession?: boolean;
  /** Every request (not only navigations) to a host outside these domains and their subdomains is refused; empty: no restriction. */
  allowedDomains?: string[];
  /** Requests to known ad and tracker hosts are refused. */
  blockAds?: boolean;
  /** Chromium accepts any certificate. */
  ignoreCertificateErrors?: boolean;
  [key: string]: unknown;
}

/** What is wrong with a value, and where (a dotted path from the settings' root). */
export interface SettingsProblem {
  at: string;
  message: string;
}
export type Normalized<T> = { ok: T } | SettingsProblem;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isName = (v: unknown) => typeof v === "string" && v.length > 0;

/** A viewport with a side left out takes that side from DEFAULT_VIEWPORT; a given side must be a whole number in bounds. */
export function normalizeViewport(value: unknown): Normalized<Viewport> {
  if (!isObject(value)) return { at: "viewport", message: "expected an object" };
  const viewport = { ...DEFAULT_VIEWPORT };
  for (const side of ["width", "height"] as const) {
    const n = value[side];
    if (n === undefined) continue;
    const { min, max } = VIEWPORT_BOUNDS[side];
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      return { at: `viewport.${side}`, message: `expected a whole number from ${min} to ${max}` };
    }
    viewport[side] = n;
  }
  return { ok: viewport };
}

/** Checks the settings the node applies and fills what they leave out; unknown keys are kept. */
export function normalizeBrowserSettings(value: unknown): Normalized<BrowserSettings> {
  if (!isObject(value)) return { at: "(root)", message: "expected an object" };
  const settings: BrowserSettings = { ...value };
  if (value.viewport !== undefined) {
    const viewport = normalizeViewport(value.viewport);
    if ("at" in viewport) return viewport;
    settings.viewport = viewport.ok;
  }
  if (value.extensionId !== undefined && !isName(value.extensionId)) return { at: "extensionId", message: "expected a non-empty string" };
  if (value.context !== undefined) {
    if (!isObject(value.context)) return { at: "context", message: "expected an object" };
    if (!isName(value.context.id)) return { at: "context.id", message: "expected a non-empty string" };
    if (value.context.persist !== undefined && typeof value.context.persist !== "boolean") return { at: "context.persist", message: "expected a boolean" };
  }
  if (value.allowedDomains !== undefined && (!Array.isArray(value.allowedDomains) || !value.allowedDomains.every((d) => typeof d === "string")))
    return { at: "allowedDomains", message: "expected an array of strings" };
  for (const flag of ["logSession", "recordSession", "blockAds", "ignoreCertificateErrors"]) {
    if (value[flag] !== undefined && typeof value[flag] !== "boolean") return { at: flag, message: "expected a boolean" };
  }
  return { ok: settings };
}
