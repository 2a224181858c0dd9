import { SemsearchError } from '../errors.js';
import { isSkippable, readLines, splitFields } from '../corpus/line-reader.js';

/** Relevance judgments: query id → document id → graded relevance (an integer; may be negative). */
export type Qrels = Map<string, Map<string, number>>;

/** A set of known query ids: topics, a queries file, or any map keyed by query id. */
export type QueryIds = ReadonlySet<string> | ReadonlyMap<string, unknown>;

export interface ReadQrelsOptions {
  /** When given, a judgment for any other query is an UNKNOWN_QUERY error. */
  queries?: QueryIds;
}

/** Builds a Qrels while reading, so every format reports duplicates and unknown queries the same way. */
export class QrelsBuilder {
  readonly qrels: Qrels = new Map();
  private readonly firstLine = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly queries?: QueryIds,
  ) {}

  add(qid: string, docid: string, relevance: number, line: number): void {
    if (this.queries !== undefined && !this.queries.has(qid)) {
      throw new SemsearchError('UNKNOWN_QUERY', `${this.file}:${line}: query ${qid} is not among the given queries`, {
        file: this.file,
        line,
        field: 'query',
      });
    }
    let docs = this.qrels.get(qid);
    if (docs === undefined) {
      docs = new Map();
      this.qrels.set(qid, docs);
    }
    if (docs.has(docid)) {
      // trec_eval stops with "duplicate docs" here too; a silent last-wins would hide a broken file.
      const key = `${qid}\u0000${docid}`;
      const first = this.firstLine.get(key);
      throw new SemsearchError(
        'DUPLICATE_ENTRY',
        `${this.file}:${line}: query ${qid}, document ${docid} is judged twice (first at line ${first ?? '?'})`,
        { file: this.file, line, field: 'docid' },
      );
    }
    docs.set(docid, relevance);
    this.firstLine.set(`${qid}\u0000${docid}`, line);
  }

  finish(): Qrels {
    if (this.qrels.size === 0) {
      throw new SemsearchError('EMPTY_INPUT', `${this.file}: no judgments`, { file: this.file });
    }
    return this.qrels;
  }
}

/** Parse a relevance value the way trec_eval's atol would accept it, but refuse anything atol would mangle. */
export function parseRelevance(text: string, file: string, line: number): number {
  if (!/^[+-]?\d+$/.test(text)) {
    throw new SemsearchError('MALFORMED_LINE', `${file}:${line}: relevance "${text}" is not an integer`, {
      file,
      line,
      field: 'relevance',
    });
  }
  return Number.parseInt(text, 10);
}

/**
 * Read TREC qrels: `qid iter docno rel`, whitespace-separated, exactly four fields as trec_eval demands
 * (the iter column, "0" or "Q0", is ignored). Blank and "#" lines are skipped.
 */
export async function readTrecQrels(path: string, options: ReadQrelsOptions = {}): Promise<Qrels> {
  const builder = new QrelsBuilder(path, options.queries);
  for await (const { text, line } of readLines(path)) {
    if (isSkippable(text)) continue;
    const f = splitFields(text);
    if (f.length !== 4) {
      throw new SemsearchError(
        'MALFORMED_LINE',
        `${path}:${line}: a qrels line needs 4 fields (qid iter docno rel), found ${f.length}`,
        { file: path, line },
      );
    }
    builder.add(f[0] as string, f[2] as string, parseRelevance(f[3] as string, path, line), line);
  }
  return builder.finish();
}

/** Qrels from a plain object, as pytrec_eval takes them: `{ qid: { docid: rel } }`. */
export function toQrels(judgments: Record<string, Record<string, number>>): Qrels {
  const qrels: Qrels = new Map();
  for (const [qid, docs] of Object.entries(judgments)) {
    const m = new Map<string, number>();
    for (const [docid, rel] of Object.entries(docs)) {
      if (!Number.isInteger(rel)) {
        throw new SemsearchError('INVALID_ARGUMENT', `relevance of ${qid}/${docid} must be an integer, got ${rel}`, {
          field: 'judgments',
        });
      }
      m.set(docid, rel);
    }
    qrels.set(qid, m);
  }
  return qrels;
}

/** The documents judged at least `relevanceLevel`: the binary view that MAP, MRR, recall and the ST evaluator use. */
export function relevantDocs(judgments: ReadonlyMap<string, number> | undefined, relevanceLevel: number): Set<string> {
  const out = new Set<string>();
  if (judgments === undefined) return out;
  for (const [docid, rel] of judgments) if (rel >= relevanceLevel) out.add(docid);
  return out;
}
