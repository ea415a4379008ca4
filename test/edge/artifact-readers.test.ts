/** The edge's own readers and writers of artifacts, run in workerd against local R2. */
import { describe, expect, it } from "vitest";
import { strToU8 } from "fflate";
import { openFilePart, parseDisposition, rawBody } from "../../edge/artifacts/request-body.ts";
import { EMPTY_ZIP, readZipEntries, type ByteSource } from "../../edge/artifacts/zip.ts";
import { PART_BYTES, putStream } from "../../edge/artifacts/blob-store.ts";
import { env, sha256, zipOf } from "./helpers.ts";

const source = (bytes: Uint8Array): ByteSource => ({ size: bytes.length, read: async (offset, length) => bytes.slice(offset, offset + length) });
const collect = async (chunks: AsyncIterable<Uint8Array>) => {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return new Uint8Array(await new Blob(parts).arrayBuffer());
};
const apiError = (status: number, message: string | RegExp) => expect.objectContaining({ status, message: expect.stringMatching(message) });

/** A multipart request whose body arrives in pieces of `size` bytes. */
async function multipart(form: FormData, size: number, contentType?: (t: string) => string) {
  const built = new Request("http://x", { method: "POST", body: form });
  const bytes = new Uint8Array(await built.arrayBuffer());
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
      controller.close();
    },
  });
  const type = built.headers.get("content-type")!;
  return new Request("http://x", { method: "POST", body, headers: { "content-type": contentType ? contentType(type) : type }, duplex: "half" } as RequestInit);
}

describe("the multipart file reader", () => {
  const payload = strToU8("--not a boundary\r\n\r\n" + "x".repeat(5000) + "\r\n--almost");

  it.each([1, 3, 7, 64, 4096])("finds the file and its bytes whatever the chunking (%i-byte chunks)", async (size) => {
    const form = new FormData();
    form.append("before", "a text field");
    form.append("file", new File([payload], "a b.txt", { type: "text/plain" }));
    form.append("after", "ignored");
    const part = await openFilePart(await multipart(form, size), { maxBytes: payload.length });
    expect(part).toMatchObject({ fileName: "a b.txt", contentType: "text/plain" });
    expect(await collect(part.chunks)).toEqual(payload);
  });

  it("accepts a quoted boundary, and refuses over the bound, a cut-off body and a missing part", async () => {
    const form = new FormData();
    form.append("file", new File([payload], "f.bin"));
    const quoted = await multipart(form, 100, (t) => t.replace(/boundary=(.*)$/, 'boundary="$1"'));
    expect(await collect((await openFilePart(quoted, { maxBytes: 1e6 })).chunks)).toEqual(payload);

    const over = await openFilePart(await multipart(form, 100), { maxBytes: payload.length - 1 });
    await expect(collect(over.chunks)).rejects.toEqual(apiError(413, `^file: larger than ${payload.length - 1} bytes$`));

    const built = new Request("http://x", { method: "POST", body: form });
    const whole = new Uint8Array(await built.arrayBuffer());
    const cut = new Request("http://x", { method: "POST", body: whole.slice(0, whole.length - 60), headers: { "content-type": built.headers.get("content-type")! } });
    const cutPart = await openFilePart(cut, { maxBytes: 1e6 });
    await expect(collect(cutPart.chunks)).rejects.toEqual(apiError(400, "ends before its closing boundary"));

    const padded = new FormData();
    padded.append("note", "n".repeat(100_000));
    padded.append("file", new File(["tiny"], "f.bin"));
    await expect(openFilePart(await multipart(padded, 4096), { maxBytes: 10 })).rejects.toEqual(apiError(413, `^Request body larger than ${10 + 65536} bytes$`));

    const other = new FormData();
    other.append("files", new File([payload], "f.bin"));
    await expect(openFilePart(await multipart(other, 50), { maxBytes: 1e6 })).rejects.toEqual(apiError(400, '^file: missing \\(no part named "file"\\)$'));
    await expect(openFilePart(new Request("http://x", { method: "POST", body: "x", headers: { "content-type": "multipart/form-data" } }), { maxBytes: 1 })).rejects.toEqual(
      apiError(400, "^Expected a multipart/form-data body"),
    );
  });

  it("skips a part with no headers, and reads header names in any case", async () => {
    const body = `--B\r\n\r\nno headers at all\r\n--B\r\ncontent-DISPOSITION: form-data; name="file"; filename="f.txt"\r\nCONTENT-TYPE:text/plain\r\n\r\nthe file\r\n--B--\r\n`;
    const part = await openFilePart(new Request("http://x", { method: "POST", body, headers: { "content-type": "multipart/form-data; boundary=B" } }), { maxBytes: 100 });
    expect(part).toMatchObject({ fileName: "f.txt", contentType: "text/plain" });
    expect(new TextDecoder().decode(await collect(part.chunks))).toBe("the file");
  });

  it("reads RFC 5987 file names (plain names: test/unit/shared/file-names.test.ts)", () => {
    expect(parseDisposition(`form-data; name="file"; filename="plain.zip"; filename*=UTF-8''%C3%BCber%20all.zip`)).toEqual({ name: "file", filename: "über all.zip" });
    expect(parseDisposition(`form-data; name=file; filename="a \\"quoted\\" name"`)).toEqual({ name: "file", filename: 'a "quoted" name' });
  });

  it("bounds a raw body and refuses an empty one", async () => {
    const ok = await rawBody(new Request("http://x", { method: "PUT", body: "abc" }), { maxBytes: 3, what: "profile" });
    expect(new TextDecoder().decode(await collect(ok))).toBe("abc");
    await expect(rawBody(new Request("http://x", { method: "PUT", body: "abcd" }), { maxBytes: 3, what: "profile" })).rejects.toEqual(apiError(413, "^profile: larger than 3 bytes$"));
    await expect(rawBody(new Request("http://x", { method: "PUT", body: "" }), { maxBytes: 3, what: "downloads" })).rejects.toEqual(apiError(400, "^downloads: empty$"));
  });
});

describe("the zip reader", () => {
  it("lists a zip's entries, with a comment after it too", async () => {
    const zip = zipOf({ "manifest.json": "{}", "js/": new Uint8Array(0), "js/a.js": "//" });
    expect(await readZipEntries(source(zip))).toEqual([
      { name: "manifest.json", directory: false },
      { name: "js/", directory: true },
      { name: "js/a.js", directory: false },
    ]);
    const commented = new Uint8Array([...zip.slice(0, -2), 5, 0, ...strToU8("hello")]);
    expect((await readZipEntries(source(commented))).length).toBe(3);
    expect(await readZipEntries(source(EMPTY_ZIP))).toEqual([]);
  });

  it("reads a zip64 end record", async () => {
    const zip = zipOf({ "manifest.json": "{}" });
    const eocd = zip.length - 22;
    const d = new DataView(zip.buffer, zip.byteOffset);
    const [count, cdBytes, cdOffset] = [d.getUint16(eocd + 10, true), d.getUint32(eocd + 12, true), d.getUint32(eocd + 16, true)];
    const z64 = new DataView(new ArrayBuffer(56 + 20 + 22));
    z64.setUint32(0, 0x06064b50, true);
    z64.setBigUint64(4, 44n, true);
    z64.setBigUint64(24, BigInt(count), true);
    z64.setBigUint64(32, BigInt(count), true);
    z64.setBigUint64(40, BigInt(cdBytes), true);
    z64.setBigUint64(48, BigInt(cdOffset), true);
    z64.setUint32(56, 0x07064b50, true); // locator
    z64.setBigUint64(64, BigInt(eocd), true);
    z64.setUint32(76, 0x06054b50, true); // the classic record, every field saturated
    for (const at of [84, 86, 88, 90]) z64.setUint16(at, 0xffff, true);
    z64.setUint32(92, 0xffffffff, true);
    const archive = new Uint8Array([...zip.slice(0, eocd), ...new Uint8Array(z64.buffer)]);
    expect(await readZipEntries(source(archive))).toEqual([{ name: "manifest.json", directory: false }]);
  });

  it("names what is wrong with a broken archive", async () => {
    const zip = zipOf({ "manifest.json": "{}" });
    const broken = zip.slice();
    new DataView(broken.buffer).setUint32(zip.length - 22 + 16, 3, true); // central directory moved
    await expect(readZipEntries(source(broken))).rejects.toThrow("corrupt central directory");
    const outOfBounds = zip.slice();
    new DataView(outOfBounds.buffer).setUint32(zip.length - 22 + 16, zip.length, true);
    await expect(readZipEntries(source(outOfBounds))).rejects.toThrow("central directory out of bounds");
  });
});

describe("streamed puts into R2", () => {
  async function* pieces(total: number, size: number) {
    for (let sent = 0; sent < total; sent += size) {
      const piece = new Uint8Array(Math.min(size, total - sent));
      for (let i = 0; i < piece.length; i += 65536) crypto.getRandomValues(piece.subarray(i, i + 65536));
      yield piece;
    }
  }

  it("stores a body of unknown length in parts, and one that fits a part in one put", async () => {
    for (const total of [PART_BYTES * 2 + 123, PART_BYTES, 10]) {
      const kept: Uint8Array[] = [];
      const tee = async function* () {
        for await (const p of pieces(total, 300_000)) yield (kept.push(p), p);
      };
      const key = `test/put-${total}`;
      expect(await putStream(env.BLOBS, key, tee(), { maxBytes: total, contentType: "application/octet-stream", what: "body" })).toBe(total);
      const stored = await env.BLOBS.get(key);
      expect(await sha256(await stored!.arrayBuffer())).toBe(await sha256(await new Blob(kept).arrayBuffer()));
    }
  });

  it("leaves nothing behind past its bound", async () => {
    await expect(putStream(env.BLOBS, "test/over", pieces(PART_BYTES + 10, 1 << 20), { maxBytes: PART_BYTES + 9, contentType: "x", what: "downloads" })).rejects.toEqual(
      apiError(413, `^downloads: larger than ${PART_BYTES + 9} bytes$`),
    );
    expect(await env.BLOBS.head("test/over")).toBeNull();
  });
});
