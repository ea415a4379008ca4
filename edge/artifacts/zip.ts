/**
 * Just enough of the zip format to tell a real archive from anything else, and to list its
 * entries: the end-of-central-directory record (zip64 included) and the central directory, read
 * by ranges from where the archive is stored. Nothing is decompressed.
 */

export interface ByteSource {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface ZipEntry {
  name: string;
  directory: boolean;
}

/** Why an archive was refused; the message completes "not a zip archive: ..." or stands alone. */
export class ZipError extends Error {}

/** An archive with no entries: what `GET /downloads` answers when the browser downloaded nothing. */
export const EMPTY_ZIP = new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]);

const EOCD = 0x06054b50;
const EOCD_BYTES = 22;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_ENTRY = 0x02014b50;
/** A central directory larger than this is not an extension anyone ships; refusing it bounds memory. */
const MAX_CENTRAL_DIRECTORY_BYTES = 16 * 1024 * 1024;

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export async function readZipEntries(source: ByteSource): Promise<ZipEntry[]> {
  if (source.size < EOCD_BYTES) throw new ZipError("not a zip archive: too short");
  // The record sits at the very end, after a comment of at most 65535 bytes.
  const tailStart = Math.max(0, source.size - EOCD_BYTES - 0xffff);
  const tail = await source.read(tailStart, source.size - tailStart);
  const t = view(tail);
  let at = -1;
  for (let i = tail.length - EOCD_BYTES; i >= 0; i--) {
    if (t.getUint32(i, true) === EOCD && i + EOCD_BYTES + t.getUint16(i + 20, true) <= tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipError("not a zip archive: no end of central directory record");
  let count = t.getUint16(at + 10, true);
  let cdBytes = t.getUint32(at + 12, true);
  let cdOffset = t.getUint32(at + 16, true);
  let cdEnd = tailStart + at;

  if (count === 0xffff || cdBytes === 0xffffffff || cdOffset === 0xffffffff) {
    if (at < 20 || t.getUint32(at - 20, true) !== ZIP64_LOCATOR) throw new ZipError("not a zip archive: zip64 record missing");
    const zip64At = Number(t.getBigUint64(at - 12, true));
    if (zip64At + 56 > source.size) throw new ZipError("not a zip archive: zip64 record out of bounds");
    const z = view(await source.read(zip64At, 56));
    if (z.getUint32(0, true) !== ZIP64_EOCD) throw new ZipError("not a zip archive: bad zip64 record");
    count = Number(z.getBigUint64(32, true));
    cdBytes = Number(z.getBigUint64(40, true));
    cdOffset = Number(z.getBigUint64(48, true));
    cdEnd = zip64At;
  }
  if (cdOffset + cdBytes > cdEnd) throw new ZipError("not a zip archive: central directory out of bounds");
  if (cdBytes > MAX_CENTRAL_DIRECTORY_BYTES) throw new ZipError(`central directory larger than ${MAX_CENTRAL_DIRECTORY_BYTES} bytes`);

  const cd = cdBytes ? await source.read(cdOffset, cdBytes) : new Uint8Array(0);
  const d = view(cd);
  const entries: ZipEntry[] = [];
  const utf8 = new TextDecoder("utf-8");
  let p = 0;
  while (entries.length < count) {
    if (p + 46 > cd.length || d.getUint32(p, true) !== CENTRAL_ENTRY) throw new ZipError("not a zip archive: corrupt central directory");
    const nameLength = d.getUint16(p + 28, true);
    const next = p + 46 + nameLength + d.getUint16(p + 30, true) + d.getUint16(p + 32, true);
    if (next > cd.length) throw new ZipError("not a zip archive: corrupt central directory");
    const name = utf8.decode(cd.subarray(p + 46, p + 46 + nameLength));
    entries.push({ name, directory: name.endsWith("/") });
    p = next;
  }
  return entries;
}

/** An entry that would land outside the folder it is unpacked into. */
export const unsafeEntry = (entries: ZipEntry[]) =>
  entries.find((e) => /^[/\\]|^[a-z]:/i.test(e.name) || e.name.split(/[/\\]/).includes("..") || e.name.includes("\0"));
