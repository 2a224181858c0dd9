import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { SemsearchError } from '../errors.js';
import { isSkippable, readLines, splitFields } from '../corpus/line-reader.js';
import type { CandidateList } from '../corpus/candidates.js';
import type { QueryIds } from './qrels.js';
import type { RankedList, Run } from '../rerank/ranked-list.js';

// The run types live with re-ranking, which takes and gives them; eval reads and writes them as TREC run files.
export type { RankedList, Run } from '../rerank/ranked-list.js';

/** One line of a TREC run file. */
export interface RunLine {
  qid: string;
  docid: string;
  /** The rank column as written; trec_eval ignores it and ranks by score. */
  rank: string;
  score: number;
  tag: string;
  line: number;
}

export interface ReadRunOptions {
  /** When given, a line for any other query is an UNKNOWN_QUERY error (e.g. pass the topics). */
  queries?: QueryIds;
}

/**
 * Stream a TREC run file: `qid Q0 docno rank score tag`, whitespace-separated. trec_eval needs all six
 * fields and ignores any after the tag; blank and "#" lines are skipped, as trec_eval does.
 */
export async function* iterateTrecRun(path: string, options: ReadRunOptions = {}): AsyncGenerator<RunLine> {
  for await (const { text, line } of readLines(path)) {
    if (isSkippable(text)) continue;
    const f = splitFields(text);
    if (f.length < 6) {
      throw new SemsearchError(
        'MALFORMED_LINE',
        `${path}:${line}: a run line needs 6 fields (qid Q0 docno rank score tag), found ${f.length}`,
        { file: path, line },
      );
    }
    const qid = f[0] as string;
    if (options.queries !== undefined && !options.queries.has(qid)) {
      throw new SemsearchError('UNKNOWN_QUERY', `${path}:${line}: query ${qid} is not among the given queries`, {
        file: path,
        line,
        field: 'query',
      });
    }
    const scoreText = f[4] as string;
    const score = Number(scoreText);
    if (scoreText.length === 0 || !Number.isFinite(score)) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: score "${scoreText}" is not a finite number`, {
        file: path,
        line,
        field: 'score',
      });
    }
    yield { qid, docid: f[2] as string, rank: f[3] as string, score, tag: f[5] as string, line };
  }
}

/** Collects run entries, refusing a document listed twice for one query (trec_eval stops on it too). */
export class RunBuilder {
  readonly run: Run = new Map();
  private readonly seen = new Map<string, Map<string, number>>();

  constructor(private readonly file: string) {}

  add(qid: string, docid: string, score: number, line: number): void {
    let list = this.run.get(qid);
    let seen = this.seen.get(qid);
    if (list === undefined || seen === undefined) {
      list = { docids: [], scores: [] };
      seen = new Map();
      this.run.set(qid, list);
      this.seen.set(qid, seen);
    }
    const first = seen.get(docid);
    if (first !== undefined) {
      throw new SemsearchError(
        'DUPLICATE_ENTRY',
        `${this.file}:${line}: query ${qid} retrieves document ${docid} twice (first at ${first})`,
        { file: this.file, line, field: 'docid' },
      );
    }
    seen.set(docid, line);
    list.docids.push(docid);
    list.scores.push(score);
  }

  finish(): Run {
    if (this.run.size === 0) throw new SemsearchError('EMPTY_INPUT', `${this.file}: no run lines`, { file: this.file });
    return this.run;
  }
}

/** Read a whole TREC run file into memory, keeping each query's lines in file order. */
export async function readTrecRun(path: string, options: ReadRunOptions = {}): Promise<Run> {
  const builder = new RunBuilder(path);
  for await (const r of iterateTrecRun(path, options)) builder.add(r.qid, r.docid, r.score, r.line);
  return builder.finish();
}

/** A run from a plain object, as pytrec_eval takes one: `{ qid: { docid: score } }`. */
export function toRun(scores: Record<string, Record<string, number>>): Run {
  const run: Run = new Map();
  for (const [qid, docs] of Object.entries(scores)) {
    const list: RankedList = { docids: [], scores: [] };
    for (const [docid, score] of Object.entries(docs)) {
      if (typeof score !== 'number' || !Number.isFinite(score)) {
        throw new SemsearchError('INVALID_ARGUMENT', `score of ${qid}/${docid} must be a finite number`, {
          field: 'scores',
        });
      }
      list.docids.push(docid);
      list.scores.push(score);
    }
    run.set(qid, list);
  }
  return run;
}

export interface WriteRunOptions {
  /** The sixth column. Defaults to "semsearch". */
  tag?: string;
}

function checkToken(value: string, what: string): void {
  if (value.length === 0 || /\s/.test(value)) {
    throw new SemsearchError('INVALID_ARGUMENT', `${what} "${value}" cannot be written to a TREC run: it is empty or has whitespace`, {
      field: what,
    });
  }
}

/** The lines of a TREC run file for `run`, each list in its given order, ranks from 1. */
export function* trecRunLines(run: Run, options: WriteRunOptions = {}): Generator<string> {
  const tag = options.tag ?? 'semsearch';
  checkToken(tag, 'tag');
  for (const [qid, list] of run) {
    checkToken(qid, 'query id');
    if (list.docids.length !== list.scores.length) {
      throw new SemsearchError('SHAPE_MISMATCH', `query ${qid} has ${list.docids.length} docids but ${list.scores.length} scores`, {
        field: 'run',
      });
    }
    for (let i = 0; i < list.docids.length; i++) {
      const docid = list.docids[i] as string;
      checkToken(docid, 'document id');
      const score = list.scores[i] as number;
      if (!Number.isFinite(score)) {
        throw new SemsearchError('INVALID_ARGUMENT', `score of ${qid}/${docid} is ${score}; a run file needs finite scores`, {
          field: 'run',
        });
      }
      // String(x) is the shortest text that parses back to the same double (bar the sign of zero).
      yield `${qid} Q0 ${docid} ${i + 1} ${Object.is(score, -0) ? '-0' : String(score)} ${tag}\n`;
    }
  }
}

/** The whole run file as one string (for small runs; use writeTrecRun for big ones). */
export function formatTrecRun(run: Run, options: WriteRunOptions = {}): string {
  let out = '';
  for (const l of trecRunLines(run, options)) out += l;
  return out;
}

/** Write a TREC run file, streaming, so a run of millions of lines never sits in memory as text. */
export async function writeTrecRun(path: string, run: Run, options: WriteRunOptions = {}): Promise<void> {
  const out = createWriteStream(path, { encoding: 'utf8' });
  // Keep an early open error from crashing the process before finished() is listening; finished() reports it.
  out.on('error', () => undefined);
  try {
    let batch = '';
    for (const l of trecRunLines(run, options)) {
      batch += l;
      if (batch.length >= 1 << 16) {
        if (!out.write(batch)) await once(out, 'drain');
        batch = '';
      }
    }
    out.end(batch);
    await finished(out);
  } catch (e) {
    out.destroy();
    if (e instanceof SemsearchError) throw e;
    throw new SemsearchError('FILE_WRITE_FAILED', `cannot write ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
}

/** The first-stage ranking the lists hold, as a run (hits in file order, with their scores). */
export function candidatesToRun(lists: readonly CandidateList[]): Run {
  const run: Run = new Map();
  for (const l of lists) run.set(l.qid, { docids: l.hits.map((h) => h.docid), scores: l.hits.map((h) => h.score) });
  return run;
}
