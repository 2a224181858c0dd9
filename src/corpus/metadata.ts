import { SemsearchError } from '../errors.js';
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
      fields[k] = v;
    }
    lineOf.set(key, line);
    out.set(key, fields);
  }
  return out;
}
