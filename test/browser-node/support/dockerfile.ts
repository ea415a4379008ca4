/**
 * Enough of Docker's build semantics to check browser-node/Dockerfile without a Docker engine:
 * instructions as Docker reads them, ENV's pairs, the exec and shell forms of commands, and
 * .dockerignore's rules.
 */
import { readFileSync } from "node:fs";

export interface Instruction {
  keyword: string;
  args: string;
}

/** Continuation lines joined, comments dropped (also those inside a continued instruction). */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || (!pending && !line)) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    const m = /^(\S+)\s+([\s\S]*)$/.exec(whole);
    if (!m) throw new Error(`not an instruction: ${whole}`);
    instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  return instructions;
}

/** A command as Docker runs it: the JSON exec form as given, the shell form under /bin/sh -c. */
export function commandOf(args: string): string[] {
  return args.startsWith("[") ? (JSON.parse(args) as string[]) : ["/bin/sh", "-c", args];
}

/** `ENV a=1 b="two words"` (the key=value form; the legacy `ENV key value` is refused). */
export function envPairs(args: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  const rest = args.replace(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)\s*/g, (_, key: string, value: string) => {
    pairs[key] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
    return "";
  });
  if (rest.trim()) throw new Error(`ENV in a form this parser does not take: ${args}`);
  return pairs;
}

/** `COPY [--flag...] <src>... <dest>`. */
export function copyOf(args: string): { flags: string[]; sources: string[]; destination: string } {
  const words = args.startsWith("[") ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith("--"));
  const paths = words.filter((w) => !w.startsWith("--"));
  return { flags, sources: paths.slice(0, -1), destination: paths.at(-1)! };
}

/** Docker's .dockerignore rules, last match wins (the forms this repository uses: `*`, `!path`). */
export function dockerIgnores(dockerignore: string, path: string): boolean {
  let ignored = false;
  for (const raw of readFileSync(dockerignore, "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const negate = line.startsWith("!");
    const pattern = (negate ? line.slice(1) : line).replace(/\/$/, "");
    const regex = new RegExp("^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*") + "(/.*)?$");
    if (regex.test(path)) ignored = !negate;
  }
  return ignored;
}
