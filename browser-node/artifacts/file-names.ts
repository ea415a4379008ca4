/** File names that come from outside (a download's suggested name, an upload's name): made plain and safe. */
import { existsSync } from "node:fs";
import { extname, join } from "node:path";

const MAX_NAME_BYTES = 255;

/**
 * The last path segment of `name`, without control characters, cut to 255 bytes (UTF-8, keeping
 * whole characters); undefined when nothing usable is left (empty, `.`, `..`).
 */
export function plainFileName(name: string): string | undefined {
  const last = name.split(/[/\\]/).pop() ?? "";
  let clean = last.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  while (Buffer.byteLength(clean) > MAX_NAME_BYTES) clean = [...clean].slice(0, -1).join("");
  if (clean === "" || clean === "." || clean === "..") return undefined;
  return clean;
}

/** `name` in `dir`, or `name (1)`, `name (2)`, ... when taken. */
export function freeNameIn(dir: string, name: string): string {
  if (!existsSync(join(dir, name))) return name;
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let i = 1; ; i++) {
    const candidate = plainFileName(`${stem} (${i})${ext}`) ?? `download (${i})`;
    if (!existsSync(join(dir, candidate))) return candidate;
  }
}
