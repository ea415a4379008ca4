/**
 * File names that come from outside (an upload's filename, an extension's, a download's suggested
 * name) made plain. The edge and the node share this module, so both apply one rule: the edge
 * stages an upload under the name this gives, and the node takes only a name this leaves as it is.
 *
 * Shared by both sides: no Workers or Node APIs, no libraries.
 */

/** The longest file name Linux (ext4, tmpfs) takes, in UTF-8 bytes. */
export const MAX_FILE_NAME_BYTES = 255;

/**
 * A name's last path segment, without control characters or surrounding whitespace, at most
 * MAX_FILE_NAME_BYTES bytes; undefined when nothing usable is left ("", ".", ".."). A longer name
 * is shortened from the end of its stem, whole characters at a time, so it keeps its extension.
 * The result is a fixed point: `plainFileName(plainFileName(x)) === plainFileName(x)`.
 */
export function plainFileName(raw: string | undefined): string | undefined {
  const base = (raw ?? "").split(/[/\\]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  if (!usable(base)) return undefined;
  const { stem, extension } = splitExtension(base);
  // Trimmed again: a cut can end on a space, and a name must be plain as it is.
  const name = (cutToBytes(stem, MAX_FILE_NAME_BYTES - utf8Length(extension)) + extension).trimEnd();
  return usable(name) ? name : undefined;
}

/**
 * `name (n).ext`: the name a second file of the same plain `name` takes. Its stem is shortened
 * to make room, so the number survives in a name already at the limit.
 */
export function numberedFileName(name: string, n: number): string {
  const { stem, extension } = splitExtension(name);
  const suffix = ` (${n})${extension}`;
  return `${cutToBytes(stem, MAX_FILE_NAME_BYTES - utf8Length(suffix)).trimEnd()}${suffix}`;
}

const usable = (name: string) => name !== "" && name !== "." && name !== "..";

/** `report.final.pdf` → `report.final` + `.pdf`; a leading dot (`.bashrc`) or an extension past 16 characters is stem. */
function splitExtension(name: string): { stem: string; extension: string } {
  const extension = /(?<=.)\.[^.]{1,16}$/.exec(name)?.[0] ?? "";
  return { stem: name.slice(0, name.length - extension.length), extension };
}

/** The longest start of `text` that fits in `maxBytes` of UTF-8, whole characters only. */
function cutToBytes(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += utf8Length(char);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
}

/** UTF-8 length without encoding (a lone surrogate counts 3, as TextEncoder writes U+FFFD). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}
