/**
 * The one file-name rule of edge and node (edge/file-names.ts): the edge stages an upload under
 * `plainFileName`'s answer and the node refuses any name that answer would change, so it must be
 * a fixed point, on multi-byte names at the 255-byte boundary too.
 */
import { describe, expect, it } from "vitest";
import { MAX_FILE_NAME_BYTES, numberedFileName, plainFileName } from "../../../edge/file-names.ts";

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** A name as the node's upload check sees it: plain only when the rule leaves it as it is. */
const plainAsItIs = (name: string) => plainFileName(name) === name;

describe("plainFileName", () => {
  it("keeps the last path segment, of either separator, without control characters or surrounding whitespace", () => {
    expect(plainFileName("../../etc/passwd")).toBe("passwd");
    expect(plainFileName("C:\\Users\\me\\report.pdf")).toBe("report.pdf");
    expect(plainFileName("evil\r\nname.txt")).toBe("evilname.txt");
    expect(plainFileName("  spaced out.txt\t")).toBe("spaced out.txt");
    expect(plainFileName("del\u007fete.txt")).toBe("delete.txt");
    expect(plainFileName(".bashrc")).toBe(".bashrc");
    expect(plainFileName("über café.pdf")).toBe("über café.pdf");
  });

  it.each([[undefined], [""], ["   "], ["."], [".."], ["dir/.."], ["dir\\."], [" .. "], [".\u0000."], ["\u0000\u0007"], ["a/"], ["a/ \t"]])(
    "has no name for %j",
    (raw) => expect(plainFileName(raw)).toBeUndefined(),
  );

  it("keeps a name of exactly 255 bytes and shortens one of 256 from the end of its stem", () => {
    const at = `${"a".repeat(251)}.txt`;
    expect(bytes(at)).toBe(MAX_FILE_NAME_BYTES);
    expect(plainFileName(at)).toBe(at);
    expect(plainFileName(`${"a".repeat(252)}.txt`)).toBe(at);
  });

  it.each([
    ["a 2-byte é", "é", 2],
    ["a 3-byte 中", "中", 3],
    ["a 4-byte 😀 (a surrogate pair)", "😀", 4],
  ])("never splits %s that straddles the boundary", (_, char, size) => {
    // The stem's room is 255 - 4 (".txt") = 251 bytes: the character starts at byte 250 and ends past 251.
    const name = `${"a".repeat(250)}${char}.txt`;
    expect(bytes(name)).toBe(254 + size);
    expect(plainFileName(name)).toBe(`${"a".repeat(250)}.txt`);
    // One byte less before it and it fits when it ends exactly at the limit.
    const fits = `${"a".repeat(251 - size)}${char}.txt`;
    expect(plainFileName(fits)).toBe(fits);
    expect(bytes(fits)).toBe(MAX_FILE_NAME_BYTES);
  });

  it("counts a lone surrogate as the 3 bytes UTF-8 writes for it", () => {
    const at = `${"a".repeat(248)}\ud800.txt`;
    expect(bytes(at)).toBe(MAX_FILE_NAME_BYTES);
    expect(plainFileName(at)).toBe(at);
    expect(plainFileName(`${"a".repeat(249)}\ud800.txt`)).toBe(`${"a".repeat(249)}.txt`);
  });

  it("keeps the extension of a long name, and treats a leading dot or an extension past 16 characters as stem", () => {
    // ".gz" is the extension, ".tar" part of the stem: 252 bytes of room, 126 é.
    const long = plainFileName(`${"é".repeat(300)}.tar.gz`)!;
    expect(long).toBe(`${"é".repeat(126)}.gz`);
    expect(bytes(long)).toBe(MAX_FILE_NAME_BYTES);
    expect(plainFileName(`.${"a".repeat(300)}`)).toBe(`.${"a".repeat(254)}`);
    expect(plainFileName(`${"a".repeat(300)}.abcdefghijklmnopq`)).toBe("a".repeat(255));
    expect(plainFileName(`${"a".repeat(300)}.abcdefghijklmnop`)).toBe(`${"a".repeat(238)}.abcdefghijklmnop`);
  });

  it("trims a cut that ends on a space, so the node takes the name as it is", () => {
    const name = plainFileName(`${"a".repeat(254)} ${"b".repeat(10)}`)!;
    expect(name).toBe("a".repeat(254));
    expect(plainAsItIs(name)).toBe(true);
    expect(plainFileName(`${"a".repeat(249)}  bbbbb.txt`)).toBe(`${"a".repeat(249)}  .txt`);
  });

  it("answers names that are plain as they are, and within 255 bytes, for any input (a fixed point)", () => {
    const alphabet = ["a", "Z", "0", " ", " ", ".", "..", "é", "中", "😀", "\ud800", "\u3000", "\u00a0", "\u0000", "\n", "/", "\\", "-"];
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      let raw = "";
      const target = 200 + (next() % 120);
      while (bytes(raw) < target) raw += alphabet[next() % alphabet.length];
      if (next() % 3 === 0) raw += [".txt", ".tar.gz", ".verylongextension12345", ". "][next() % 4];
      const name = plainFileName(raw);
      if (name === undefined) continue;
      expect(bytes(name)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
      expect(name).not.toMatch(/[\u0000-\u001f\u007f/\\]/);
      expect(name).toBe(name.trim());
      expect(plainAsItIs(name), JSON.stringify(raw)).toBe(true);
    }
  });
});

describe("numberedFileName", () => {
  it("numbers the stem and keeps the extension", () => {
    expect(numberedFileName("report.pdf", 1)).toBe("report (1).pdf");
    expect(numberedFileName("archive.tar.gz", 2)).toBe("archive.tar (2).gz");
    expect(numberedFileName(".bashrc", 3)).toBe(".bashrc (3)");
    expect(numberedFileName("README", 10)).toBe("README (10)");
  });

  it.each([
    ["ASCII", `${"a".repeat(251)}.zip`],
    ["2-byte", `${"é".repeat(125)}a.zip`],
    ["4-byte", `${"😀".repeat(62)}abc.zip`],
    ["no extension, a space at the cut", `${"a".repeat(249)} ${"b".repeat(5)}`],
  ])("makes room for the number in a %s name already at 255 bytes", (_, name) => {
    expect(plainFileName(name)).toBe(name);
    for (const n of [1, 99, 12345]) {
      const numbered = numberedFileName(name, n);
      expect(bytes(numbered)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
      expect(numbered).toContain(` (${n})`);
      expect(numbered).not.toBe(name);
      expect(plainAsItIs(numbered)).toBe(true);
      expect(numbered).not.toContain("\ufffd");
    }
  });
});
