/**
 * Archives the node moves: zips (an extension in, the downloads out; fflate, pure JS, bundled)
 * and gzipped tars (a context's profile, both ways; the image's GNU tar behind Node's zlib, so the
 * unpacked size is bounded here, before tar sees a byte). Every size is bounded; an archive that
 * names anything outside its folder is refused.
 */
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, normalize, sep } from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { NodeError } from "../node-error.ts";

// fflate and zlib are loaded when an archive is first handled, not at start: fflate builds its
// tables when it loads (about 4 MB of RSS, zlib another 1.4 MB, measured), which a session
// without extension, context or downloads never needs.
const fflate = () => import("fflate");
const zlib = () => import("node:zlib");

/** Passes bytes through until `max`, then fails with a NodeError naming `what`. */
export class ByteLimit extends Transform {
  bytes = 0;
  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    this.bytes += chunk.length;
    if (this.bytes > this.max) return done(new NodeError("error", `${this.what} is larger than ${this.max} bytes`, { status: 413 }));
    done(null, chunk);
  }
}

/** A relative path that stays inside its folder once joined, or undefined. */
export function safeRelative(name: string): string | undefined {
  if (name.includes("\0") || name.startsWith("/") || name.includes("\\")) return undefined;
  const clean = normalize(name);
  if (clean === "." || clean.startsWith("..") || clean.split(sep).includes("..")) return undefined;
  return clean;
}

/** Unpacks a zip (at most `maxUnpacked` bytes as declared by its entries) into `dir`. */
export async function unzipInto(zipFile: string, dir: string, maxUnpacked: number): Promise<void> {
  const { unzipSync } = await fflate();
  const data = new Uint8Array(await readFile(zipFile));
  let declared = 0;
  let problem: string | undefined;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(data, {
      filter: (entry) => {
        declared += entry.originalSize;
        if (!safeRelative(entry.name)) problem ??= `an entry outside its root: ${JSON.stringify(entry.name)}`;
        if (declared > maxUnpacked) problem ??= `more than ${maxUnpacked} bytes unpacked`;
        return problem === undefined;
      },
    });
  } catch (err) {
    throw new NodeError("not-ready", `not a zip archive: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (problem) throw new NodeError("not-ready", `refused zip: ${problem}`);
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, safeRelative(name)!);
    if (name.endsWith("/")) {
      await mkdir(path, { recursive: true });
      continue;
    }
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
}

/**
 * Writes a zip of `entries` (name in the zip → file on disk) to `out`, stored uncompressed
 * (downloads are mostly compressed already, and storing costs no CPU), streaming file by file.
 */
export async function zipFiles(entries: Array<{ name: string; path: string }>, out: string): Promise<void> {
  const { Zip, ZipPassThrough } = await fflate();
  const sink = createWriteStream(out);
  const failed = new Promise<never>((_, reject) => sink.once("error", reject));
  const finished = new Promise<void>((resolve) => sink.once("finish", resolve));
  let pending: Promise<void> = Promise.resolve();
  const zip = new Zip((err, chunk, final) => {
    if (err) return sink.destroy(err);
    if (!sink.write(chunk)) pending = new Promise((r) => sink.once("drain", r));
    if (final) sink.end();
  });
  const work = (async () => {
    for (const entry of entries) {
      const file = new ZipPassThrough(entry.name);
      zip.add(file);
      for await (const chunk of createReadStream(entry.path)) {
        file.push(chunk as Buffer);
        await pending;
      }
      file.push(new Uint8Array(0), true);
    }
    zip.end();
    await finished;
  })();
  await Promise.race([work, failed]);
}

/** Runs tar with `args`; stdin/stdout are the caller's to wire. Exit 1 ("file changed") is a warning. */
function tar(args: string[]) {
  const child = spawn("tar", args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + String(d)).slice(-1000)));
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", (err) => reject(new NodeError("error", `cannot run tar: ${err.message}`)));
    child.once("exit", (code) => (code === 0 || code === 1 ? resolve() : reject(new NodeError("error", `tar failed (${code}): ${stderr.trim()}`))));
  });
  return { child, done };
}

/** How a write into a reader that has gone fails: Node's pipeline and the pipe itself. */
const CUT_BY_READER = new Set(["ERR_STREAM_PREMATURE_CLOSE", "EPIPE"]);

/**
 * Unpacks a tar.gz into `dir`, at most `maxUnpacked` bytes of tar stream. GNU tar drops leading
 * `/`, refuses `..` members and defers links that point outside, so nothing lands outside `dir`;
 * owners and modes from the archive are not applied.
 */
export async function untarGzInto(file: string, dir: string, maxUnpacked: number): Promise<void> {
  const { createGunzip } = await zlib();
  const { child, done } = tar(["-x", "-C", dir, "--no-same-owner", "--no-same-permissions", "--no-overwrite-dir", "-f", "-"]);
  child.stdout.resume();
  const feeding = pipeline(createReadStream(file), createGunzip(), new ByteLimit(maxUnpacked, "the unpacked profile"), child.stdin);
  const [fed, unpacked] = await Promise.allSettled([feeding, done]);
  // tar exits once it has read the archive's end, and may close its stdin before the last of
  // the gzip stream (the archive's padding) was written: that stream's "premature close" (or
  // EPIPE) is no fault when tar itself finished well.
  const cutByTar = (err: unknown) => unpacked.status === "fulfilled" && CUT_BY_READER.has((err as { code?: string } | undefined)?.code ?? "");
  const err = fed.status === "rejected" && !cutByTar(fed.reason) ? fed.reason : unpacked.status === "rejected" ? unpacked.reason : undefined;
  if (err === undefined) return;
  child.kill("SIGKILL");
  if (err instanceof NodeError) throw err;
  throw new NodeError("error", `not a tar.gz profile: ${err instanceof Error ? err.message : String(err)}`);
}

/** Packs `dir` (less `exclude` patterns) as a tar.gz of at most `maxBytes` into `out`. */
export async function tarGzFolder(dir: string, out: string, exclude: string[], maxBytes: number): Promise<number> {
  const { createGzip } = await zlib();
  const { child, done } = tar(["-c", "-C", dir, ...exclude.map((p) => `--exclude=${p}`), "-f", "-", "."]);
  child.stdin.end();
  const limit = new ByteLimit(maxBytes, "the profile archive");
  try {
    await Promise.all([pipeline(child.stdout, createGzip({ level: 6 }), limit, createWriteStream(out)), done]);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return limit.bytes;
}
