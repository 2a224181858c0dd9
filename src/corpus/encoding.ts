import { isUtf8 } from 'node:buffer';
import { SemsearchError } from '../errors.js';

/*
 * Text is never changed on its way in. Node's UTF-8 decoding turns invalid bytes into U+FFFD, and SQLite turns a
 * lone UTF-16 surrogate into U+FFFD when it stores a string: either way an id or a passage would be stored other
 * than it was given, with no word. So input files must be valid UTF-8 and strings well-formed Unicode; anything
 * else is INVALID_ENCODING naming the file and line (or the field), and nothing is replaced.
 */

/** 1-based line of byte `offset` in `buf` (counting the newlines before it). */
function lineAt(buf: Uint8Array, offset: number, firstLine: number): number {
  let line = firstLine;
  for (let i = buf.indexOf(10); i !== -1 && i < offset; i = buf.indexOf(10, i + 1)) line++;
  return line;
}

/** Byte offset of the first invalid UTF-8 sequence in `buf` (which isUtf8 has refused). */
function firstInvalidByte(buf: Uint8Array): number {
  // Lines are valid or not on their own (a newline byte never sits inside a UTF-8 sequence): find the line, then the byte.
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    const end = nl === -1 ? buf.length : nl;
    const line = buf.subarray(start, end);
    if (!isUtf8(line)) {
      // The longest valid prefix: a prefix that cuts a character in two is invalid too, so look a sequence ahead.
      let good = 0;
      for (let n = 1; n <= line.length; n++) {
        if (isUtf8(line.subarray(0, n))) good = n;
        else if (n - good >= 4) break;
      }
      return start + good;
    }
    if (nl === -1) return buf.length;
    start = nl + 1;
  }
}

/**
 * The INVALID_ENCODING error for bytes that are not UTF-8, naming the file and line. `firstLine` is the number of
 * the line `buf` starts at.
 */
export function invalidUtf8(file: string, buf: Uint8Array, firstLine = 1): SemsearchError {
  const at = firstInvalidByte(buf);
  const line = lineAt(buf, at, firstLine);
  const bytes = [...buf.subarray(at, at + 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return new SemsearchError(
    'INVALID_ENCODING',
    `${file}:${line}: not valid UTF-8 (bytes ${bytes}); semsearch reads UTF-8 only and replaces nothing: convert the file (e.g. iconv -f latin1 -t utf-8) and run again`,
    { file, line },
  );
}

/** Decode a whole file's bytes as UTF-8, or INVALID_ENCODING naming its file and line; a leading BOM is kept. */
export function decodeUtf8(buf: Buffer, file: string): string {
  if (!isUtf8(buf)) throw invalidUtf8(file, buf);
  return buf.toString('utf8');
}

export { isUtf8 };

/** String.prototype.isWellFormed (Node 20; the TypeScript lib here predates it): no lone UTF-16 surrogate. */
export function isWellFormed(value: string): boolean {
  return (value as string & { isWellFormed(): boolean }).isWellFormed();
}

/** Where a string came from, for the error: a file and line, or only the field of an argument or request. */
export interface StringOrigin {
  file?: string;
  line?: number;
}

/**
 * A string that must be well-formed Unicode (no lone UTF-16 surrogate), or INVALID_ENCODING naming the field and,
 * when it came from a file, the file and line. `what` says which string it is ("id", "text of passage 7").
 */
export function checkWellFormed(value: string, field: string, what: string, origin: StringOrigin = {}): void {
  if (isWellFormed(value)) return;
  let i = 0;
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      break;
    }
    if (c >= 0xdc00 && c <= 0xdfff) break;
  }
  const code = value.charCodeAt(i).toString(16).toUpperCase();
  const at = origin.file !== undefined ? `${origin.file}${origin.line !== undefined ? `:${origin.line}` : ''}: ` : '';
  throw new SemsearchError(
    'INVALID_ENCODING',
    `${at}${field}: the ${what} holds a lone UTF-16 surrogate (U+${code} at index ${i}), which is not Unicode text and would be stored changed; send well-formed strings`,
    { ...origin, field },
  );
}
