/**
 * The edge's zip reader (edge/artifacts/zip.ts): real archives from fflate, and hand-made ones for
 * what no zip tool writes on purpose (corruption, zip64, lying sizes). The reader never looks at
 * local file headers, so the hand-made archives are a central directory and its end records.
 */
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { EMPTY_ZIP, readZipEntries, unsafeEntry, ZipError, type ByteSource, type ZipEntry } from "../../../edge/artifacts/zip.ts";

const MiB = 1024 * 1024;

function source(bytes: Uint8Array): ByteSource & { reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    size: bytes.length,
    reads,
    async read(offset, length) {
      reads.push([offset, length]);
      return bytes.slice(offset, offset + length);
    },
  };
}

const le = (bytes: number, value: number | bigint) => {
  const b = new Uint8Array(bytes);
  const v = new DataView(b.buffer);
  if (bytes === 2) v.setUint16(0, Number(value), true);
  else if (bytes === 4) v.setUint32(0, Number(value), true);
  else v.setBigUint64(0, BigInt(value), true);
  return b;
};
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};

/** One central directory entry: the 46-byte header (signature and the three lengths) and its name. */
function centralEntry(name: string, { extra = 0, comment = 0 } = {}) {
  const n = strToU8(name);
  const header = new Uint8Array(46);
  header.set(le(4, 0x02014b50), 0);
  header.set(le(2, n.length), 28);
  header.set(le(2, extra), 30);
  header.set(le(2, comment), 32);
  return concat(header, n, new Uint8Array(extra + comment));
}

function endRecord({ count, cdBytes, cdOffset, comment = new Uint8Array(0) }: { count: number; cdBytes: number; cdOffset: number; comment?: Uint8Array }) {
  const eocd = new Uint8Array(22);
  eocd.set(le(4, 0x06054b50), 0);
  eocd.set(le(2, count), 8);
  eocd.set(le(2, count), 10);
  eocd.set(le(4, cdBytes), 12);
  eocd.set(le(4, cdOffset), 16);
  eocd.set(le(2, comment.length), 20);
  return concat(eocd, comment);
}

/** A central directory of `names` at offset 0, then its end record. */
function directoryZip(names: string[], end: Partial<Parameters<typeof endRecord>[0]> = {}) {
  const cd = concat(...names.map((n) => centralEntry(n)));
  return concat(cd, endRecord({ count: names.length, cdBytes: cd.length, cdOffset: 0, ...end }));
}

/** The same as zip64 writes it: 0xFFFF/0xFFFFFFFF in the end record, the real values in the zip64 record. */
function zip64(names: string[], { locator = true, recordAt, signature = 0x06064b50 }: { locator?: boolean; recordAt?: number; signature?: number } = {}) {
  const cd = concat(...names.map((n) => centralEntry(n)));
  const record = new Uint8Array(56);
  record.set(le(4, signature), 0);
  record.set(le(8, 44), 4);
  record.set(le(8, names.length), 24);
  record.set(le(8, names.length), 32);
  record.set(le(8, cd.length), 40);
  record.set(le(8, 0), 48);
  const loc = new Uint8Array(20);
  loc.set(le(4, 0x07064b50), 0);
  loc.set(le(8, recordAt ?? cd.length), 8);
  loc.set(le(4, 1), 16);
  return concat(cd, record, locator ? loc : new Uint8Array(20), endRecord({ count: 0xffff, cdBytes: 0xffffffff, cdOffset: 0xffffffff }));
}

const refusal = (bytes: Uint8Array) => readZipEntries(source(bytes)).then(() => "read", (err: unknown) => (err instanceof ZipError ? err.message : `not a ZipError: ${err}`));

describe("readZipEntries", () => {
  it("lists a real archive's entries in order, folders marked, names as UTF-8", async () => {
    const zip = zipSync({ "manifest.json": strToU8("{}"), "icons/": new Uint8Array(0), "icons/é.png": new Uint8Array(3) });
    expect(await readZipEntries(source(zip))).toEqual<ZipEntry[]>([
      { name: "manifest.json", directory: false },
      { name: "icons/", directory: true },
      { name: "icons/é.png", directory: false },
    ]);
  });

  it("reads the empty archive the edge serves for no downloads", async () => {
    expect(await readZipEntries(source(EMPTY_ZIP))).toEqual([]);
  });

  it("finds the end record behind an archive comment, even one that holds a fake end signature", async () => {
    // The fake record claims a comment longer than what follows it, so it cannot be the real one.
    const fake = concat(le(4, 0x06054b50), new Uint8Array(16), le(2, 0xffff), strToU8("tail"));
    const zip = directoryZip(["a.txt"], { comment: concat(strToU8("made by hand "), fake) });
    expect(await readZipEntries(source(zip))).toEqual([{ name: "a.txt", directory: false }]);
  });

  it("reads only the end of a large archive and its central directory, never the entries' data", async () => {
    const cd = centralEntry("big.bin");
    const data = new Uint8Array(2 * MiB);
    const zip = concat(data, cd, endRecord({ count: 1, cdBytes: cd.length, cdOffset: data.length }));
    const src = source(zip);
    expect(await readZipEntries(src)).toEqual([{ name: "big.bin", directory: false }]);
    expect(src.reads.reduce((n, [, length]) => n + length, 0)).toBeLessThan(70_000 + cd.length);
  });

  it("skips each entry's extra field and comment to reach the next entry", async () => {
    const cd = concat(centralEntry("a", { extra: 9, comment: 5 }), centralEntry("b"));
    expect(await readZipEntries(source(concat(cd, endRecord({ count: 2, cdBytes: cd.length, cdOffset: 0 }))))).toEqual([
      { name: "a", directory: false },
      { name: "b", directory: false },
    ]);
  });

  it("follows the zip64 record when the end record's fields are saturated", async () => {
    expect(await readZipEntries(source(zip64(["x/", "x/y"])))).toEqual([
      { name: "x/", directory: true },
      { name: "x/y", directory: false },
    ]);
  });

  it.each<[string, Uint8Array, string]>([
    ["shorter than an end record", new Uint8Array(21), "not a zip archive: too short"],
    ["not an archive at all", strToU8("just text, long enough to be looked at as a zip archive"), "not a zip archive: no end of central directory record"],
    ["a directory said to lie past the end record", directoryZip(["a"], { cdOffset: 1 }), "not a zip archive: central directory out of bounds"],
    ["more entries counted than the directory holds", directoryZip(["a"], { count: 2 }), "not a zip archive: corrupt central directory"],
    ["an entry whose name runs past the directory", directoryZip(["abc"], { cdBytes: 47 }), "not a zip archive: corrupt central directory"],
    ["a directory that is not one", concat(new Uint8Array(46), endRecord({ count: 1, cdBytes: 46, cdOffset: 0 })), "not a zip archive: corrupt central directory"],
    ["saturated fields without a zip64 locator", zip64(["a"], { locator: false }), "not a zip archive: zip64 record missing"],
    ["a zip64 locator pointing past the end", zip64(["a"], { recordAt: 1 << 20 }), "not a zip archive: zip64 record out of bounds"],
    ["a zip64 locator pointing at something else", zip64(["a"], { signature: 0x12345678 }), "not a zip archive: bad zip64 record"],
  ])("refuses %s", async (_, bytes, message) => {
    expect(await refusal(bytes)).toBe(message);
  });

  it("refuses a central directory over 16 MiB before reading it", async () => {
    const cdBytes = 16 * MiB + 1;
    const end = endRecord({ count: 1, cdBytes, cdOffset: 0 });
    const src: ByteSource & { reads: [number, number][] } = {
      size: cdBytes + end.length,
      reads: [],
      async read(offset, length) {
        this.reads.push([offset, length]);
        const out = new Uint8Array(length);
        const endAt = cdBytes - offset;
        if (endAt >= 0 && endAt < length) out.set(end.subarray(0, length - endAt), endAt);
        return out;
      },
    };
    await expect(readZipEntries(src)).rejects.toThrow(new ZipError(`central directory larger than ${16 * MiB} bytes`));
    expect(src.reads.every(([, length]) => length < MiB)).toBe(true);
  });
});

describe("unsafeEntry", () => {
  const entries = (...names: string[]) => names.map((name) => ({ name, directory: name.endsWith("/") }));

  it.each(["/etc/passwd", "\\windows", "C:evil", "a:b", "c:/evil", "../up", "a/../../up", "a\\..\\up", "a/..", "nul\0byte"])("finds %j", (name) => {
    expect(unsafeEntry(entries("fine.txt", name))).toEqual({ name, directory: name.endsWith("/") });
  });

  it("lets through names that only look alike", () => {
    expect(unsafeEntry(entries("..a", "a..", "a/...", "b/..c/d", "dir/", "ab:c", "./a"))).toBeUndefined();
  });
});
