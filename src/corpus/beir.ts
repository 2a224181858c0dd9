import { SemsearchError } from '../errors.js';
import { readLines } from './line-reader.js';

/** A BEIR corpus.jsonl or queries.jsonl record. */
export interface BeirRecord {
  id: string;
  title: string;
  text: string;
  line: number;
  /**
   * The record's other scalar fields, as metadata: `title` when present, any extra top-level field, and the keys of
   * a `metadata` object as `metadata.<key>`. Arrays and deeper objects are not metadata and are left out.
   */
  fields?: Record<string, string | number | boolean | null>;
}

function scalar(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function extraFields(rec: Record<string, unknown>, title: string): Record<string, string | number | boolean | null> | undefined {
  const out: Record<string, string | number | boolean | null> = {};
  if (title !== '') out.title = title;
  for (const [k, v] of Object.entries(rec)) {
    if (k === '_id' || k === 'text' || k === 'title') continue;
    if (scalar(v)) out[k] = v;
    else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) if (scalar(v2)) out[`${k}.${k2}`] = v2;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
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
    const title = field(rec, 'title', path, line, false);
    const fields = extraFields(rec, title);
    yield { id, title, text: field(rec, 'text', path, line, true), line, ...(fields !== undefined ? { fields } : {}) };
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
