/**
 * The `q` filter of `GET /v1/sessions`: `user_metadata['key']:'value'`, nested keys as
 * `user_metadata['a']['b']:'value'`. Quotes may be single or double; a backslash escapes the
 * quote. A value matches a string leaf equal to it, or a number/boolean leaf that prints as it.
 */
export interface MetadataQuery {
  path: string[];
  value: string;
}

const QUOTED = String.raw`'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"`;
const WHOLE = new RegExp(String.raw`^\s*user_metadata((?:\[\s*(?:${QUOTED})\s*\])+)\s*:\s*(?:${QUOTED})\s*$`);
const KEY = new RegExp(String.raw`\[\s*(?:${QUOTED})\s*\]`, "g");
const unescape = (s: string) => s.replace(/\\(.)/g, "$1");

/** The parsed query, or undefined when `q` is not in the supported form. */
export function parseMetadataQuery(q: string): MetadataQuery | undefined {
  const match = WHOLE.exec(q);
  if (!match) return undefined;
  const path = [...match[1].matchAll(KEY)].map((m) => unescape(m[1] ?? m[2]));
  const value = unescape(match[4] ?? match[5]);
  return { path, value };
}

export function matchesMetadataQuery(metadata: Record<string, unknown> | undefined, query: MetadataQuery): boolean {
  let node: unknown = metadata;
  for (const key of query.path) {
    if (node === null || typeof node !== "object" || Array.isArray(node) || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node === "string") return node === query.value;
  if (typeof node === "number" || typeof node === "boolean") return String(node) === query.value;
  return false;
}
