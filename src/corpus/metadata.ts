import { SemsearchError } from '../errors.js';
import { checkWellFormed } from './encoding.js';
import { readLines } from './line-reader.js';
import type { PassageMetadata } from './passages.js';

/**
 * A metadata side file: one JSON object per line, `{"id": "<passage id>", "<field>": value, …}`, for corpus formats
 * that carry no fields of their own (MS MARCO tsv, SMART, folders). Values are strings, numbers, booleans or null.
 * Returns passage id → fields; a line that is not such an object, or an id given twice, is an error naming the line.
 */
export async function readMetadataFile(path: string): Promise<Map<string, PassageMetadata>> {
  const out = new Map<string, PassageMetadata>();
  const lineOf = new Map<string, number>();
  for await (const { text, line } of readLines(path)) {
    if (text.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (cause) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: not valid JSON (${(cause as Error).message})`, { file: path, line, cause });
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: each line must be a JSON object with an "id"`, { file: path, line });
    }
    const rec = obj as Record<string, unknown>;
    const idKey = 'id' in rec ? 'id' : '_id';
    const id = rec[idKey];
    if ((typeof id !== 'string' || id === '') && typeof id !== 'number') {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: the record has no "id" naming a passage`, { file: path, line, field: 'id' });
    }
    const key = String(id);
    checkWellFormed(key, 'id', 'metadata id', { file: path, line });
    const first = lineOf.get(key);
    if (first !== undefined) {
      throw new SemsearchError('DUPLICATE_ENTRY', `${path}:${line}: passage ${key} has metadata twice (first at line ${first})`, { file: path, line, field: 'id' });
    }
    const fields: PassageMetadata = {};
    for (const [k, v] of Object.entries(rec)) {
      if (k === idKey) continue;
      if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw new SemsearchError('METADATA_INVALID', `${path}:${line}: field ${k} of passage ${key} is ${JSON.stringify(v)}; values are strings, numbers, booleans or null`, {
          file: path,
          line,
          field: k,
        });
      }
      checkWellFormed(k, k, `metadata field name of passage ${key}`, { file: path, line });
      if (typeof v === 'string') checkWellFormed(v, k, `metadata field ${k} of passage ${key}`, { file: path, line });
      fields[k] = v;
    }
    lineOf.set(key, line);
    out.set(key, fields);
  }
  return out;
}

/** Side-file rows whose id names no passage the corpus was read for: how many, and the first few ids. */
export interface UnmatchedMetadata {
  count: number;
  /** Up to five of their ids, in side-file order. */
  ids: string[];
}

/**
 * The rows of a side file (readMetadataFile) whose id is not in `matched`, the ids of the passages read. Such rows
 * are not used; they are counted and reported rather than dropped without a word (often a typo or another
 * corpus's ids).
 */
export function unmatchedMetadata(side: ReadonlyMap<string, PassageMetadata>, matched: ReadonlySet<string>): UnmatchedMetadata {
  const ids: string[] = [];
  let count = 0;
  for (const id of side.keys()) {
    if (matched.has(id)) continue;
    count++;
    if (ids.length < 5) ids.push(id);
  }
  return { count, ids };
}

/** "3 rows of side.jsonl name no passage of corpus.tsv (ids a, b, c); their fields were not used". */
export function describeUnmatched(u: UnmatchedMetadata, sideFile: string, corpus: string): string {
  const more = u.count > u.ids.length ? `, and ${u.count - u.ids.length} more` : '';
  return `${u.count} metadata row${u.count === 1 ? '' : 's'} of ${sideFile} name${u.count === 1 ? 's' : ''} no passage of ${corpus} (id${u.ids.length === 1 ? '' : 's'} ${u.ids.join(', ')}${more}); their fields were not used`;
}
