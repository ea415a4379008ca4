/**
 * Request bodies read as streams. A Worker has 128 MB of memory and an extension may be 100 MB,
 * so `formData()` (which holds the whole body, and copies it into a File) is out: the `file` part
 * of a multipart/form-data body is read chunk by chunk, other parts skipped, and the file's bytes
 * handed out as they arrive, holding no more than a chunk and a delimiter's worth of bytes. Raw
 * bodies (archives a node PUTs) are handed out the same way. Both are counted against a bound
 * and checked to be non-empty before anything is stored.
 */
import { ApiError } from "../errors.ts";

export interface FilePart {
  /** The part's `filename`, as the client sent it (not yet safe to use as a path). */
  fileName?: string;
  contentType?: string;
  /** The file's bytes, never empty chunks; throws 413 past `maxBytes`, 400 on a cut-off body. */
  chunks: AsyncIterable<Uint8Array>;
}

/** Multipart framing around a file (boundaries, part headers, other small fields) may add this much. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;

const encoder = new TextEncoder();

/**
 * Opens the part named `field` and reads up to its first byte, so an empty or missing file is a
 * 400 before anything is stored or sent anywhere.
 */
export async function openFilePart(request: Request, options: { field?: string; maxBytes: number }): Promise<FilePart> {
  const field = options.field ?? "file";
  const boundary = boundaryOf(request.headers.get("content-type"));
  if (!boundary) throw new ApiError(400, `Expected a multipart/form-data body with a "${field}" part`);
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > options.maxBytes + MULTIPART_OVERHEAD_BYTES) throw tooLarge(field, options.maxBytes);
  if (!request.body) throw new ApiError(400, `${field}: missing (the body is empty)`);

  // The whole body is bounded too: a preamble or another part must not stream on forever.
  const reader = new BodyReader(request.body.getReader(), encoder.encode(`\r\n--${boundary}`), options.maxBytes + MULTIPART_OVERHEAD_BYTES);
  for (;;) {
    const headers = await reader.nextPartHeaders();
    if (!headers) throw new ApiError(400, `${field}: missing (no part named "${field}")`);
    const disposition = parseDisposition(headers.get("content-disposition"));
    if (disposition.name !== field) {
      for await (const _ of reader.partBody()) {
        // skipped: another field's value
      }
      continue;
    }
    return {
      fileName: disposition.filename,
      contentType: headers.get("content-type") || undefined,
      chunks: await nonEmpty(counted(reader.partBody(), field, options.maxBytes), field),
    };
  }
}

/** A raw body (`what` names it in errors), bounded by `maxBytes`. */
export async function rawBody(request: Request, options: { maxBytes: number; what: string }): Promise<AsyncIterable<Uint8Array>> {
  if (Number(request.headers.get("content-length") ?? NaN) > options.maxBytes) throw tooLarge(options.what, options.maxBytes);
  if (!request.body) throw new ApiError(400, `${options.what}: empty`);
  const reader = request.body.getReader();
  async function* chunks() {
    for (;;) {
      const next = await read(reader);
      if (next.done) return;
      if (next.value.length) yield next.value;
    }
  }
  return nonEmpty(counted(chunks(), options.what, options.maxBytes), options.what);
}

/** Reads up to the first byte, so an empty body is a 400 before anything is stored or sent. */
async function nonEmpty(chunks: AsyncIterable<Uint8Array>, what: string): Promise<AsyncIterable<Uint8Array>> {
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new ApiError(400, `${what}: empty`);
  return (async function* () {
    yield first.value;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  })();
}

async function read(reader: ReadableStreamDefaultReader<Uint8Array>) {
  try {
    return await reader.read();
  } catch (error) {
    throw new ApiError(400, `The request body could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const tooLarge = (field: string, maxBytes: number) => new ApiError(413, `${field}: larger than ${maxBytes} bytes`);

async function* counted(chunks: AsyncIterable<Uint8Array>, field: string, maxBytes: number) {
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(field, maxBytes);
    yield chunk;
  }
}

function boundaryOf(contentType: string | null): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^\s;"]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/** `form-data; name="file"; filename="a.zip"` (or RFC 5987 `filename*=UTF-8''a%20b.zip`, which wins). */
export function parseDisposition(header: string | null | undefined): { name?: string; filename?: string } {
  const params = new Map<string, string>();
  for (const m of (header ?? "").matchAll(/;\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g))
    params.set(m[1].toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3].trim());
  let filename = params.get("filename");
  const extended = /^utf-8''(.*)$/i.exec(params.get("filename*") ?? "");
  if (extended) {
    try {
      filename = decodeURIComponent(extended[1]);
    } catch {
      // a broken encoding: keep the plain filename
    }
  }
  return { name: params.get("name"), filename };
}

/**
 * The body as parts: every delimiter is CRLF "--" boundary (the first one too: the reader starts
 * with a CRLF of its own, so a body that opens with the delimiter needs no special case).
 */
class BodyReader {
  private buf: Uint8Array = encoder.encode("\r\n");
  private eof = false;
  /** Between a part's headers and its closing delimiter. */
  private inBody = false;

  private total = 0;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly delimiter: Uint8Array,
    private readonly maxTotal: number,
  ) {}

  /** The next part's headers, or undefined after the closing delimiter. */
  async nextPartHeaders(): Promise<PartHeaders | undefined> {
    if (this.inBody) throw new Error("the previous part was not read");
    let at: number;
    while ((at = this.find(this.delimiter)) < 0) {
      this.buf = this.buf.subarray(Math.max(0, this.buf.length - this.delimiter.length + 1));
      if (!(await this.fill())) throw new ApiError(400, "Malformed multipart body: no boundary found");
    }
    const after = at + this.delimiter.length;
    while (this.buf.length < after + 2) if (!(await this.fill())) throw truncated();
    if (this.buf[after] === 45 && this.buf[after + 1] === 45) return undefined; // "--": the last one
    // The delimiter's line (transport padding allowed), then header lines, then an empty line.
    let lineEnd: number;
    while ((lineEnd = this.find(CRLF, after)) < 0) if (!(await this.fill())) throw truncated();
    let end: number;
    while ((end = this.find(CRLF_CRLF, lineEnd)) < 0) {
      if (this.buf.length - lineEnd > MAX_HEADER_BYTES) throw new ApiError(400, "Malformed multipart body: part headers too long");
      if (!(await this.fill())) throw truncated();
    }
    const headers = parsePartHeaders(new TextDecoder().decode(this.buf.subarray(lineEnd + 2, end)));
    this.buf = this.buf.subarray(end + 4);
    this.inBody = true;
    return headers;
  }

  /** The current part's bytes up to (not including) the next delimiter. */
  async *partBody(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const at = this.find(this.delimiter);
      if (at >= 0) {
        if (at > 0) yield this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at);
        this.inBody = false;
        return;
      }
      // Whatever cannot be the start of a delimiter is the part's for sure.
      const keep = this.delimiter.length - 1;
      if (this.buf.length > keep) {
        const out = this.buf.subarray(0, this.buf.length - keep);
        this.buf = this.buf.subarray(this.buf.length - keep);
        yield out;
      }
      if (!(await this.fill())) throw truncated();
    }
  }

  /** Appends the next chunk (into a new array: handed-out chunks are never overwritten). */
  private async fill(): Promise<boolean> {
    if (this.eof) return false;
    const next = await read(this.reader);
    if (next.done) {
      this.eof = true;
      return false;
    }
    this.total += next.value.length;
    if (this.total > this.maxTotal) throw new ApiError(413, `Request body larger than ${this.maxTotal} bytes`);
    const joined = new Uint8Array(this.buf.length + next.value.length);
    joined.set(this.buf);
    joined.set(next.value, this.buf.length);
    this.buf = joined;
    return true;
  }

  private find(pattern: Uint8Array, from = 0): number {
    const last = this.buf.length - pattern.length;
    for (let i = this.buf.indexOf(pattern[0], from); i >= 0 && i <= last; i = this.buf.indexOf(pattern[0], i + 1)) {
      let j = 1;
      while (j < pattern.length && this.buf[i + j] === pattern[j]) j++;
      if (j === pattern.length) return i;
    }
    return -1;
  }
}

/** A part's headers by lowercase name. */
type PartHeaders = Map<string, string>;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * `Name: value` lines, strictly: a line that is not one (no colon, a name that is no token, a
 * folded continuation, a control character) is a 400. Values stay UTF-8 text, as FormData writes
 * file names, rather than Fetch Headers, whose Latin-1 values would refuse them.
 */
function parsePartHeaders(block: string): PartHeaders {
  const headers: PartHeaders = new Map();
  // A part may have no headers at all (then it has no name either).
  for (const line of block === "" ? [] : block.split("\r\n")) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (colon <= 0 || !TOKEN.test(name) || CONTROL.test(value))
      throw new ApiError(400, `Malformed multipart body: part header line ${JSON.stringify(line.slice(0, 100))} is not "Name: value"`);
    const key = name.toLowerCase();
    headers.set(key, headers.has(key) ? `${headers.get(key)}, ${value}` : value);
  }
  return headers;
}

const CRLF = encoder.encode("\r\n");
const CRLF_CRLF = encoder.encode("\r\n\r\n");
const truncated = () => new ApiError(400, "Malformed multipart body: it ends before its closing boundary");
