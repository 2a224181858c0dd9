import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SemsearchError } from '../errors.js';
import { iterateBeirCorpus, beirDocumentText } from './beir.js';
import { candidatePassages, readCandidateLists } from './candidates.js';
import { checkWellFormed, decodeUtf8 } from './encoding.js';
import { CORPUS_FORMATS, detectFormat, type CorpusFormat } from './formats.js';
import { iterateTsvRecords } from './msmarco.js';
import { readSmartDocs, smartDocumentText } from './smart.js';
import type { WarningHandler } from './warnings.js';

/** One passage to index: its id, the text to encode, and where it came from for error messages. */
export interface Passage {
  id: string;
  text: string;
  file: string;
  /** 1-based line in `file`, when the format is line based. */
  line?: number;
  /** Metadata fields (BEIR title and extra fields; a side file's fields for other formats). */
  metadata?: PassageMetadata;
}

/** Metadata of a passage: field → string, number, boolean or null (absent). */
export type PassageMetadata = Record<string, string | number | boolean | null>;

export interface CorpusOptions {
  /** The corpus format; detectFormat guesses it from the path when absent. */
  format?: CorpusFormat;
  /** folder format: the most words one passage may hold (default 200). */
  maxWords?: number;
  /** Told of records skipped or repaired on the way (candidate lists). */
  onWarning?: WarningHandler;
}

/** A text file of a folder corpus; a dangling link, a link to a folder or an unreadable file is a coded error naming it. */
async function readCorpusFile(file: string): Promise<string> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'is a symbolic link to a file that does not exist' : code === 'EISDIR' ? 'is a folder (or a link to one), not a text file' : `cannot be read (${code ?? (cause as Error).message})`;
    throw new SemsearchError('FILE_NOT_FOUND', `${file} ${why}: fix or remove it, then run again`, { file, cause });
  }
  return decodeUtf8(buf, file);
}

async function* textFiles(root: string, dir: string): AsyncGenerator<string> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* textFiles(root, p);
    else if (/\.(txt|md|markdown)$/i.test(e.name)) yield p;
  }
}

/**
 * Split a document into passages: paragraphs (blank-line separated) are packed together up to maxWords,
 * and a paragraph longer than that is cut at word boundaries, so passages stay within what a bi-encoder reads.
 */
export function splitIntoPassages(text: string, maxWords: number): string[] {
  const out: string[] = [];
  let current: string[] = [];
  const flush = (): void => {
    if (current.length > 0) out.push(current.join(' '));
    current = [];
  };
  for (const para of text.split(/\r?\n\s*\r?\n/)) {
    const words = para.split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) continue;
    if (current.length + words.length > maxWords) flush();
    for (let i = 0; i < words.length; i += maxWords) {
      const piece = words.slice(i, i + maxWords);
      if (current.length + piece.length > maxWords) flush();
      current.push(...piece);
    }
  }
  flush();
  return out;
}

/**
 * A passage's id, text and metadata strings as read, or INVALID_ENCODING naming the file, line and field: a JSON
 * escape such as "\ud800" decodes to a lone surrogate, which SQLite would store as U+FFFD, so an id would no
 * longer match itself. (Bytes that are not UTF-8 stop the readers before this.)
 */
export function checkPassageStrings(p: Passage): void {
  const origin = { file: p.file, ...(p.line !== undefined ? { line: p.line } : {}) };
  checkWellFormed(p.id, 'id', 'passage id', origin);
  checkWellFormed(p.text, 'text', `text of passage ${p.id}`, origin);
  if (p.metadata !== undefined) {
    for (const [k, v] of Object.entries(p.metadata)) {
      checkWellFormed(k, k, `metadata field name of passage ${p.id}`, origin);
      if (typeof v === 'string') checkWellFormed(v, k, `metadata field ${k} of passage ${p.id}`, origin);
    }
  }
}

/**
 * Stream a corpus as passages, whatever its format; memory stays flat for the line-based formats. Files must be
 * UTF-8 and ids, texts and metadata well-formed Unicode: anything else is INVALID_ENCODING naming the file and
 * line, never replaced.
 */
export async function* iteratePassages(path: string, options: CorpusOptions = {}): AsyncGenerator<Passage> {
  for await (const p of readFormat(path, options)) {
    checkPassageStrings(p);
    yield p;
  }
}

async function* readFormat(path: string, options: CorpusOptions): AsyncGenerator<Passage> {
  const format = options.format ?? (await detectFormat(path));
  switch (format) {
    case 'msmarco':
      for await (const r of iterateTsvRecords(path)) yield { id: r.id, text: r.text, file: path, line: r.line };
      return;
    case 'beir':
      for await (const r of iterateBeirCorpus(path)) yield { id: r.id, text: beirDocumentText(r), file: path, line: r.line, ...(r.fields !== undefined ? { metadata: r.fields } : {}) };
      return;
    case 'candidates': {
      // Candidate lists are small (top-100 per query) and repeat passages across queries: read whole, dedupe.
      const lists = await readCandidateLists(path, options.onWarning === undefined ? {} : { onWarning: options.onWarning });
      for (const [id, text] of candidatePassages(lists)) yield { id, text, file: path };
      return;
    }
    case 'smart':
      // SMART files are small (1,400 and 3,204 records) and ids must be unique across the file: read whole.
      for (const doc of (await readSmartDocs(path)).values()) yield { id: doc.id, text: smartDocumentText(doc), file: path };
      return;
    case 'folder': {
      const maxWords = options.maxWords ?? 200;
      for await (const file of textFiles(path, path)) {
        const rel = relative(path, file);
        const parts = splitIntoPassages(await readCorpusFile(file), maxWords);
        for (let i = 0; i < parts.length; i++) yield { id: `${rel}#${i}`, text: parts[i] as string, file };
      }
      return;
    }
    default:
      throw new SemsearchError('INVALID_ARGUMENT', `unknown corpus format ${JSON.stringify(format)}; use ${CORPUS_FORMATS.join(', ')}`, { field: 'format' });
  }
}

/**
 * Read passage files into one id → text map, in file order; an id read before keeps its first text, so a
 * pool of files can list the same passage twice (the first copy wins). A file with no record is an error.
 */
export async function readPassages(paths: readonly string[], options: Omit<CorpusOptions, 'format'> = {}): Promise<Map<string, string>> {
  if (paths.length === 0) throw new SemsearchError('INVALID_ARGUMENT', 'no corpus file given', { field: 'corpus' });
  const out = new Map<string, string>();
  for (const path of paths) {
    let records = 0;
    for await (const p of iteratePassages(path, options)) {
      records++;
      if (!out.has(p.id)) out.set(p.id, p.text);
    }
    if (records === 0) throw new SemsearchError('EMPTY_INPUT', `${path}: no passages`, { file: path });
  }
  return out;
}

/** How many lines a file has, counted on raw bytes: a cheap total for progress and ETA on line formats. */
export async function countLines(path: string): Promise<number> {
  let n = 0;
  let last = 10;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
  }
  return last === 10 ? n : n + 1;
}
