/** Unpacking a context's profile (artifacts/archive.ts) with the real tar and gzip. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { untarGzInto } from "../../../browser-node/artifacts/archive.ts";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A tar.gz of one file, with `padding` zero bytes after the archive's end (tar stops reading at that end). */
function archive(padding: number): string {
  dir = mkdtempSync(join(tmpdir(), "wc-untar-"));
  mkdirSync(join(dir, "in"));
  writeFileSync(join(dir, "in", "marker"), "from the saved context");
  const tar = execFileSync("tar", ["-cf", "-", "-C", join(dir, "in"), "."]);
  const file = join(dir, "profile.tar.gz");
  writeFileSync(file, gzipSync(Buffer.concat([tar, Buffer.alloc(padding)])));
  return file;
}

describe("untarGzInto", () => {
  it("unpacks an archive whose reader, tar, exits before the stream's end was written", async () => {
    const file = archive(8 * 1024 * 1024); // far more than a pipe holds: tar is gone before it is written
    mkdirSync(join(dir, "out"));
    await untarGzInto(file, join(dir, "out"), 64 * 1024 * 1024);
    expect(readFileSync(join(dir, "out", "marker"), "utf8")).toBe("from the saved context");
  });

  it("still refuses what is not a tar.gz", async () => {
    dir = mkdtempSync(join(tmpdir(), "wc-untar-"));
    writeFileSync(join(dir, "bad.tar.gz"), "not gzip at all");
    mkdirSync(join(dir, "out"));
    await expect(untarGzInto(join(dir, "bad.tar.gz"), join(dir, "out"), 1024 * 1024)).rejects.toThrow(/not a tar\.gz profile/);
  });
});
