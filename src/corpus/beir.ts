import { SemsearchError } from '../errors.js';
import { readLines } from './line-reader.js';

/** A BEIR corpus.jsonl or queries.jsonl record. */
export interface BeirRecord {
  id: string;
  title: string;
  text: string;
  line: number;
}

function field(obj: Record<string, unknown>, name: string, path: string, line: number, required: boolean): string {
  const v = obj[name];
  if (v === undefined || v === null) {
    if (!required) return '';
    throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: the record has no "${name}"`, { file: path, line, field: name });
  }
  // BEIR writes ids as strings, but some converted sets have numbers; both mean the same id.
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && name === '_id') return String(v);
  throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: "${name}" must be a string, got ${typeof v}`, {
    file: path,
    line,
    field: name,
  });
}

/** Stream a BEIR jsonl file (`{"_id", "title", "text", "metadata"}` per line); title may be absent. */
export async function* iterateBeirJsonl(path: string): AsyncGenerator<BeirRecord> {
  for await (const { text, line } of readLines(path)) {
    if (text.trim().length === 0) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (cause) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: not valid JSON (${(cause as Error).message})`, {
        file: path,
        line,
        cause,
      });
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: each line must be a JSON object`, { file: path, line });
    }
    const rec = obj as Record<string, unknown>;
    const id = field(rec, '_id', path, line, true);
    if (id.length === 0) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: "_id" is empty`, { file: path, line, field: '_id' });
    }
    yield { id, title: field(rec, 'title', path, line, false), text: field(rec, 'text', path, line, true), line };
  }
}

/** Stream a BEIR corpus.jsonl. */
export function iterateBeirCorpus(path: string): AsyncGenerator<BeirRecord> {
  return iterateBeirJsonl(path);
}

async function collect(path: string, what: string): Promise<Map<string, BeirRecord>> {
  const out = new Map<string, BeirRecord>();
  for await (const r of iterateBeirJsonl(path)) {
    const first = out.get(r.id);
    if (first !== undefined) {
      throw new SemsearchError('DUPLICATE_ENTRY', `${path}:${r.line}: ${what} ${r.id} appears twice (first at line ${first.line})`, {
        file: path,
        line: r.line,
        field: '_id',
      });
    }
    out.set(r.id, r);
  }
  if (out.size === 0) throw new SemsearchError('EMPTY_INPUT', `${path}: no records`, { file: path });
  return out;
}

/** A small BEIR corpus.jsonl read whole: doc id → record. */
export function readBeirCorpus(path: string): Promise<Map<string, BeirRecord>> {
  return collect(path, 'document');
}

/** BEIR queries.jsonl: query id → text. */
export async function readBeirQueries(path: string): Promise<Map<string, string>> {
  const recs = await collect(path, 'query');
  return new Map([...recs].map(([id, r]) => [id, r.text]));
}

/**
 * The text sentence-transformers' BEIR examples encode for a document: title and text joined by a space,
 * trimmed.
 */
export function beirDocumentText(doc: { title: string; text: string }): string {
  return `${doc.title} ${doc.text}`.trim();
}
