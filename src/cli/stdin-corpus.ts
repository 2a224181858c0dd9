import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { firstLine } from '../corpus/line-reader.js';
import { CORPUS_FORMATS, formatOfFirstLine, type CorpusFormat } from '../corpus/formats.js';
import { SemsearchError } from '../errors.js';

/** The corpus argument that means standard input, and how messages name it. */
export const STDIN_ARG = '-';
const STDIN_NAME = '<stdin>';

/** An error about the spooled file, said of standard input. */
function aboutStdin(e: unknown, spooled: string): unknown {
  if (!(e instanceof SemsearchError)) return e;
  const message = e.message.split(spooled).join(STDIN_NAME);
  if (message === e.message && e.file !== spooled) return e;
  return new SemsearchError(e.code, message, {
    ...(e.file !== undefined ? { file: e.file === spooled ? STDIN_NAME : e.file } : {}),
    ...(e.line !== undefined ? { line: e.line } : {}),
    ...(e.field !== undefined ? { field: e.field } : {}),
    cause: e,
  });
}

/**
 * Run `fn` on a corpus path. `-` is standard input: it is copied to a temporary file first (add reads its corpus
 * twice, index may resume), its format is --format or told from its first line (a JSON object: BEIR JSONL; a JSON
 * array: candidate lists; `.I`: SMART; a tab: MS MARCO tsv), and errors name `<stdin>` rather than that file,
 * which is removed after.
 */
export async function withCorpusArg<T>(
  corpus: string,
  stdin: NodeJS.ReadableStream,
  format: CorpusFormat | undefined,
  fn: (path: string, format: CorpusFormat | undefined) => Promise<T>,
): Promise<T> {
  if (corpus !== STDIN_ARG) return fn(corpus, format);
  if (format === 'folder') throw new SemsearchError('INVALID_ARGUMENT', 'standard input is one file: --format folder needs a folder path', { field: '--format' });
  const dir = await mkdtemp(join(tmpdir(), 'semsearch-stdin-'));
  const spooled = join(dir, 'stdin');
  try {
    await pipeline(stdin instanceof Readable ? stdin : Readable.from(stdin as AsyncIterable<unknown>), createWriteStream(spooled));
    let f: CorpusFormat | undefined = format;
    if (f === undefined) {
      const first = await firstLine(spooled);
      if (first === '') throw new SemsearchError('EMPTY_INPUT', `${STDIN_NAME} holds no passages`, { file: STDIN_NAME });
      f = formatOfFirstLine(first);
      if (f === undefined) {
        throw new SemsearchError(
          'INVALID_ARGUMENT',
          `cannot tell the corpus format of ${STDIN_NAME} from its first line (no tab, not JSON, not .I); pass --format (${CORPUS_FORMATS.filter((x) => x !== 'folder').join(', ')})`,
          { file: STDIN_NAME, field: '--format' },
        );
      }
    }
    return await fn(spooled, f);
  } catch (e) {
    throw aboutStdin(e, spooled);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
