import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { SemsearchError } from '../errors.js';

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
 * A final line without a newline is still yielded; an empty file yields nothing.
 */
export async function* readLines(path: string): AsyncGenerator<TextLine> {
  await assertReadableFile(path);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let carry = '';
  let line = 0;
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let text = carry + chunk;
      if (first) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      let start = 0;
      let nl = text.indexOf('\n', start);
      while (nl !== -1) {
        line++;
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        yield { text: text.slice(start, end), line };
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      carry = text.slice(start);
    }
  } catch (cause) {
    throw new SemsearchError('FILE_NOT_FOUND', `cannot read ${path}: ${(cause as Error).message}`, { file: path, cause });
  } finally {
    stream.destroy();
  }
  if (carry.length > 0) {
    line++;
    yield { text: carry.endsWith('\r') ? carry.slice(0, -1) : carry, line };
  }
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
