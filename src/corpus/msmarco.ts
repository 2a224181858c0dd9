import { SemsearchError } from '../errors.js';
import { readLines } from './line-reader.js';

/** One passage or query of a `id<TAB>text` file. */
export interface TsvRecord {
  id: string;
  text: string;
  line: number;
}

/**
 * Stream an MS MARCO style `id<TAB>text` file (collection.tsv, queries.tsv, the TREC DL topics). The id ends
 * at the first tab; the text is everything after it, kept as written (dev-small has "2\t Androgen...").
 * Blank lines are skipped. Ids are not checked for duplicates here: the 8.8M-passage collection would need
 * them all in memory.
 */
export async function* iterateTsvRecords(path: string): AsyncGenerator<TsvRecord> {
  for await (const { text, line } of readLines(path)) {
    if (text.trim().length === 0) continue;
    const tab = text.indexOf('\t');
    if (tab === -1) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: expected "id<TAB>text", found no tab`, {
        file: path,
        line,
      });
    }
    const id = text.slice(0, tab).trim();
    if (id.length === 0) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: the id before the tab is empty`, {
        file: path,
        line,
        field: 'id',
      });
    }
    yield { id, text: text.slice(tab + 1), line };
  }
}

/** Read a whole `id<TAB>text` file into a map, refusing a repeated id. */
export async function readTsvRecords(path: string, what = 'id'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const lines = new Map<string, number>();
  for await (const r of iterateTsvRecords(path)) {
    const first = lines.get(r.id);
    if (first !== undefined) {
      throw new SemsearchError('DUPLICATE_ENTRY', `${path}:${r.line}: ${what} ${r.id} appears twice (first at line ${first})`, {
        file: path,
        line: r.line,
        field: 'id',
      });
    }
    lines.set(r.id, r.line);
    out.set(r.id, r.text);
  }
  if (out.size === 0) throw new SemsearchError('EMPTY_INPUT', `${path}: no records`, { file: path });
  return out;
}

/** MS MARCO queries.tsv (also queries.dev.small.tsv and the TREC DL topic files): query id → text. */
export function readMsMarcoQueries(path: string): Promise<Map<string, string>> {
  return readTsvRecords(path, 'query');
}

/** MS MARCO collection.tsv, streamed: pid and passage text. */
export function iterateMsMarcoCollection(path: string): AsyncGenerator<TsvRecord> {
  return iterateTsvRecords(path);
}

/** A small collection.tsv (a subset, a test pool) read whole: pid → passage text. */
export function readMsMarcoCollection(path: string): Promise<Map<string, string>> {
  return readTsvRecords(path, 'passage');
}
