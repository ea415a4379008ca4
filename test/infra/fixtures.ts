import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { buildApp } from "../../infra-cdk/lib/build-app.ts";
import type { WallcrawlerStack } from "../../infra-cdk/lib/wallcrawler-stack.ts";

export const REPO = path.resolve(import.meta.dirname, "..", "..");
export const EDGE_URL = "https://edge.example.com";

/** The feature flags the CLI passes from cdk.json, so tests synthesise what `cdk deploy` would. */
const cdkJson = JSON.parse(readFileSync(path.join(REPO, "infra-cdk", "cdk.json"), "utf8")) as {
  context: Record<string, unknown>;
};

export interface Synthesized {
  template: Template;
  stack: WallcrawlerStack;
  /** The cloud assembly's directory (asset manifest, validation report). */
  outdir: string;
  stackName: string;
}

const cache = new Map<string, Synthesized>();

/**
 * Synthesises the real app (cdk-nag included: an unacknowledged finding throws here) with the
 * given context on top of cdk.json's, once per distinct context for the whole run.
 */
export function synth(context: Record<string, unknown> = {}): Synthesized {
  const key = JSON.stringify(context);
  let hit = cache.get(key);
  if (!hit) {
    const { app, stack } = newApp(context);
    const assembly = app.synth();
    const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
    hit = { template, stack, outdir: assembly.directory, stackName: stack.stackName };
    cache.set(key, hit);
  }
  return hit;
}

const outdirs: string[] = [];
process.on("exit", () => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A fresh, unsynthesised app with the CLI's context plus `context`, writing to a temp dir. */
export function newApp(context: Record<string, unknown> = {}) {
  const full = {
    ...cdkJson.context,
    // As the CLI does; logicalIdAt reads it.
    "aws:cdk:enable-path-metadata": true,
    // Copying the image context is checked once, by the CLI synth in synth.test.ts.
    "aws:cdk:disable-asset-staging": true,
    edgeUrl: EDGE_URL,
    ...context,
  };
  const outdir = mkdtempSync(path.join(tmpdir(), "wc-infra-"));
  outdirs.push(outdir);
  return buildApp({ context: full, outdir });
}

export const dev = () => synth({ mode: "dev" });
export const prod = () => synth({ mode: "prod" });
/** CONNECT_MODE=direct: clients connect to each node's proxy on 9223. */
export const direct = (mode: "dev" | "prod" = "dev") => synth({ mode, connectMode: "direct" });

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;

/** Every resource of a type, by logical id. */
export function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** The single resource of a type; fails when there are none or several. */
export function only(template: Template, type: string): { id: string; props: Record<string, any> } {
  const entries = Object.entries(resourcesOf(template, type));
  if (entries.length !== 1) throw new Error(`expected exactly one ${type}, found ${entries.length}`);
  const [id, resource] = entries[0]!;
  return { id, props: resource.Properties ?? {} };
}

/** The logical id of a resource by its construct path's end, e.g. "BrowserNode/TaskRole". */
export function logicalIdAt(template: Template, pathSuffix: string): string {
  const all = template.toJSON().Resources as Record<string, { Metadata?: Record<string, string> }>;
  const ids = Object.entries(all)
    .filter(([, r]) => [pathSuffix, `${pathSuffix}/Resource`].some((end) => r.Metadata?.["aws:cdk:path"]?.endsWith(`/${end}`)))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one resource at */${pathSuffix}, found ${ids.length}`);
  return ids[0]!;
}
