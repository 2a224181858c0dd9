import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { SemsearchError } from '../errors.js';
import { decodeUtf8, invalidUtf8, isUtf8 } from './encoding.js';

/** One line of a text file, without its line break, with its 1-based number for error messages. */
export interface TextLine {
  text: string;
  line: number;
}

/** Fail early, with the code users branch on, when an input file is missing or is a folder. */
export async function assertReadableFile(path: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (cause) {
    throw new SemsearchError('FILE_NOT_FOUND', `cannot read ${path}: no such file`, { file: path, cause });
  }
  if (!isFile) throw new SemsearchError('FILE_NOT_FOUND', `cannot read ${path}: not a regular file`, { file: path });
}

/**
 * Stream a UTF-8 text file line by line. Lines split on "\n" only and lose one trailing "\r", so CRLF files
 * (Cranfield, topics.dl20.txt) read like LF ones while a stray "\r" inside a passage cannot shift the line
 * numbers that errors report (node:readline would split there). A leading byte-order mark is dropped.
 * A final line without a newline is still yielded; an empty file yields nothing. Bytes that are not UTF-8 are
 * INVALID_ENCODING naming the file and line: nothing is replaced (Node's decoder would put U+FFFD there silently).
 */
export async function* readLines(path: string): AsyncGenerator<TextLine> {
  await assertReadableFile(path);
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  let carry: Buffer = Buffer.alloc(0);
  let line = 0;
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
      if (first) {
        if (buf.length < 3 && buf.length === chunk.length) {
          // Too short to tell a BOM yet: wait for more (or the end).
          carry = buf;
          continue;
        }
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
        first = false;
      }
      // Whole lines only: a newline byte never sits inside a UTF-8 sequence, so what ends at one decodes alone.
      const lastNl = buf.lastIndexOf(10);
      if (lastNl === -1) {
        carry = buf;
        continue;
      }
      const whole = buf.subarray(0, lastNl + 1);
      carry = buf.subarray(lastNl + 1);
      if (!isUtf8(whole)) throw invalidUtf8(path, whole, line + 1);
      const text = whole.toString('utf8');
      let start = 0;
      let nl = text.indexOf('\n', start);
      while (nl !== -1) {
        line++;
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        yield { text: text.slice(start, end), line };
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
    }
  } catch (cause) {
    if (cause instanceof SemsearchError) throw cause;
    throw new SemsearchError('FILE_NOT_FOUND', `cannot read ${path}: ${(cause as Error).message}`, { file: path, cause });
  } finally {
    stream.destroy();
  }
  if (first && carry[0] === 0xef && carry[1] === 0xbb && carry[2] === 0xbf) carry = carry.subarray(3);
  if (carry.length > 0) {
    if (!isUtf8(carry)) throw invalidUtf8(path, carry, line + 1);
    line++;
    const last = carry.toString('utf8');
    yield { text: last.endsWith('\r') ? last.slice(0, -1) : last, line };
  }
}

/** A whole UTF-8 text file as a string: FILE_NOT_FOUND when it cannot be read, INVALID_ENCODING (file, line) when it is not UTF-8. */
export async function readTextFile(path: string): Promise<string> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (cause) {
    throw new SemsearchError('FILE_NOT_FOUND', `cannot read ${path}: ${(cause as Error).message}`, { file: path, cause });
  }
  return decodeUtf8(buf, path);
}

/** Split on runs of blanks (spaces, tabs, a stray "\r"), the way trec_eval's parsers do. */
export function splitFields(text: string): string[] {
  const trimmed = text.trim();
  return trimmed.length === 0 ? [] : trimmed.split(/\s+/);
}

/** Lines that trec_eval skips: blank ones and "#" comments. */
export function isSkippable(text: string): boolean {
  const t = text.trimStart();
  return t.length === 0 || t.startsWith('#');
}

/**
 * The first non-blank line of a file (BOM dropped), read from its first 4 KiB: enough to tell the formats
 * apart by their opening (`.I 1`, `<top>`, a BEIR header, a tab) without reading a large file twice.
 */
export async function firstLine(path: string): Promise<string> {
  await assertReadableFile(path);
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
    return text.split('\n').find((l) => l.trim().length > 0)?.replace(/\r$/, '') ?? '';
  } finally {
    await fh.close();
  }
}
