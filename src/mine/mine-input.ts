import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { SemsearchError } from '../errors.js';

/** (anchor, positive) pairs with the two column names they carry into the mined rows. */
export interface MinePairs {
  columns: [string, string];
  anchors: string[];
  positives: string[];
}

/**
 * Pairs from a file: JSONL (by its name, or a first line that is an object) of objects whose first two fields are the anchor and the positive (their names become the
 * columns, as a datasets.Dataset's first two columns do), or TSV lines `anchor<TAB>positive` (columns anchor,
 * positive). A malformed line is a MALFORMED_LINE naming the file and line.
 */
export async function readMinePairs(path: string): Promise<MinePairs> {
  // JSONL by name, or by a first record that is an object.
  let jsonl: boolean | undefined = /\.jsonl?$/i.test(path) ? true : undefined;
  const out: MinePairs = { columns: ['anchor', 'positive'], anchors: [], positives: [] };
  let line = 0;
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch (cause) {
    throw new SemsearchError('FILE_NOT_FOUND', `cannot read the pairs file ${path}: ${(cause as Error).message}`, { file: path, cause });
  }
  const bad = (why: string): never => {
    throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: ${why}`, { file: path, line });
  };
  for await (const raw of createInterface({ input: stream, crlfDelay: Infinity })) {
    line++;
    if (raw.trim() === '') continue;
    jsonl ??= raw.trimStart().startsWith('{');
    let a: unknown;
    let p: unknown;
    if (jsonl) {
      let rec: unknown;
      try {
        rec = JSON.parse(raw);
      } catch {
        bad('not a JSON object');
      }
      if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) bad('not a JSON object');
      const obj = rec as Record<string, unknown>;
      if (out.anchors.length === 0) {
        const keys = Object.keys(obj);
        if (keys.length < 2) bad('a pair needs two fields, the anchor and the positive');
        out.columns = [keys[0] as string, keys[1] as string];
      }
      [a, p] = [obj[out.columns[0]], obj[out.columns[1]]];
      if (typeof a !== 'string' || typeof p !== 'string') bad(`fields "${out.columns[0]}" and "${out.columns[1]}" must be strings, as on the first line`);
    } else {
      const cols = raw.split('\t');
      if (cols.length !== 2) bad(`expected anchor<TAB>positive, got ${cols.length} field(s)`);
      [a, p] = cols;
    }
    if ((a as string).trim() === '' || (p as string).trim() === '') bad('an empty anchor or positive');
    out.anchors.push(a as string);
    out.positives.push(p as string);
  }
  if (out.anchors.length === 0) throw new SemsearchError('EMPTY_INPUT', `${path}: no pairs`, { file: path });
  return out;
}

/** Pairs from judged data: every (query, passage) the qrels grade at least `level`, in qrels order, where both have text. */
export function pairsFromQrels(queries: ReadonlyMap<string, string>, qrels: ReadonlyMap<string, ReadonlyMap<string, number>>, passages: ReadonlyMap<string, string>, level: number): MinePairs & { skipped: number } {
  const out = { columns: ['anchor', 'positive'] as [string, string], anchors: [] as string[], positives: [] as string[], skipped: 0 };
  for (const [qid, docs] of qrels) {
    const q = queries.get(qid);
    for (const [docid, grade] of docs) {
      if (grade < level) continue;
      const p = passages.get(docid);
      if (q === undefined || p === undefined) {
        out.skipped++;
        continue;
      }
      out.anchors.push(q);
      out.positives.push(p);
    }
  }
  if (out.anchors.length === 0) throw new SemsearchError('EMPTY_INPUT', `no judged (query, passage) pair at grade ≥ ${level} has both texts`, { field: 'qrels' });
  return out;
}
