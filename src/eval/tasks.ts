import { basename, extname } from 'node:path';
import { SemsearchError } from '../errors.js';
import { candidatePassages, readCandidateLists } from '../corpus/candidates.js';
import type { QueriesFormat } from '../corpus/formats.js';
import { readPassages } from '../corpus/passages.js';
import { readQueries } from '../corpus/queries.js';
import type { WarningHandler } from '../corpus/warnings.js';
import { DEFAULT_RELEVANCE_LEVEL, readJudgments, type QrelsFormat } from './judgments.js';
import type { Qrels } from './qrels.js';
import { candidatesToRun, readTrecRun, type Run } from './run.js';

/*
 * What `semsearch eval` evaluates, read from files: queries, judgments, and either a corpus to search
 * (full retrieval) or a first-stage run to re-rank. The files are read by corpus/ (passages, queries) and
 * judgments.ts, which guess each format from its name and first line; the *Format options override the guess.
 */

/** Files (and settings) of one evaluation. Exactly one of `rerank` and a corpus-only setup is used. */
export interface EvalTaskSpec {
  /** A label for reports (a dataset name, or the file names). */
  name?: string;
  /**
   * Re-ranking: a TREC run file or a candidate-list JSON (rank_llm's retrieve_results_*.json, which carries
   * the query and passage texts). Without it, the task is full retrieval over `corpus`.
   */
  rerank?: string;
  /**
   * Passage files or folders in any corpus format (CORPUS_FORMATS): MS MARCO collection.tsv, BEIR
   * corpus.jsonl, a SMART document file (cran.all.1400, cacm.all), candidate-list JSON, a folder of text. Several files form one corpus, in the order given; an id
   * already read keeps its first text. With `rerank`, they supply the texts of the run's documents.
   */
  corpus?: readonly string[];
  /**
   * Full retrieval over an index built by `semsearch index` (buildIndex) instead of encoding `corpus`: only
   * the queries are encoded, with the model the index was built with.
   */
  index?: string;
  /** Queries: TREC topics (`qid<TAB>text` or `<top>`), BEIR queries.jsonl, SMART queries (cran.qry, query.text). */
  queries?: string;
  queriesFormat?: QueriesFormat | 'auto';
  qrels: string;
  qrelsFormat?: QrelsFormat;
  /** Grade at which a document is relevant for the binary measures; default 1 (trec_eval's; never guessed from a file name). */
  relevanceLevel?: number;
  /** Re-ranking a run whose documents lack text: "error" (default) or "drop" them with a warning. */
  missingText?: 'error' | 'drop';
}

interface TaskBase {
  name: string;
  queries: Map<string, string>;
  qrels: Qrels;
  relevanceLevel: number;
}

/** A corpus to search: id → text, in corpus order (the order decides how equal scores are broken). */
export interface RetrievalTask extends TaskBase {
  mode: 'retrieve';
  /** Empty when `index` is set. */
  corpus: Map<string, string>;
  /** An index folder to search instead of the corpus. */
  index?: string;
}

/** A first-stage run to re-score, with the texts of its documents. */
export interface RerankTask extends TaskBase {
  mode: 'rerank';
  candidates: Run;
  passages: Map<string, string>;
  missingText: 'error' | 'drop';
}

export type EvalTask = RetrievalTask | RerankTask;

/** Read every file of a task spec. */
export async function loadEvalTask(spec: EvalTaskSpec, onWarning?: WarningHandler): Promise<EvalTask> {
  const relevanceLevel = spec.relevanceLevel ?? DEFAULT_RELEVANCE_LEVEL;
  if (!Number.isFinite(relevanceLevel)) {
    throw new SemsearchError('INVALID_ARGUMENT', `relevanceLevel must be a number, got ${relevanceLevel}`, { field: 'relevanceLevel' });
  }
  const qrels = await readJudgments(spec.qrels, spec.qrelsFormat ?? 'auto', onWarning);
  const warn = onWarning === undefined ? {} : { onWarning };
  const readSpecQueries = (path: string): Promise<Map<string, string>> => readQueries(path, { format: spec.queriesFormat ?? 'auto', ...warn });
  if (spec.rerank === undefined && spec.index !== undefined) {
    if (spec.corpus !== undefined && spec.corpus.length > 0) {
      throw new SemsearchError('INVALID_ARGUMENT', 'give either an index or a corpus to search, not both', { field: 'index' });
    }
    if (spec.queries === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'full retrieval needs queries', { field: 'queries' });
    const queries = await readSpecQueries(spec.queries);
    return { mode: 'retrieve', name: spec.name ?? basename(spec.index), queries, qrels, relevanceLevel, corpus: new Map(), index: spec.index };
  }
  if (spec.rerank === undefined) {
    if (spec.corpus === undefined || spec.corpus.length === 0) {
      throw new SemsearchError('INVALID_ARGUMENT', 'full retrieval needs a corpus (or pass a run to re-rank)', { field: 'corpus' });
    }
    if (spec.queries === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'full retrieval needs queries', { field: 'queries' });
    const queries = await readSpecQueries(spec.queries);
    const corpus = await readPassages(spec.corpus, warn);
    return { mode: 'retrieve', name: spec.name ?? basename(spec.corpus[0] as string), queries, qrels, relevanceLevel, corpus };
  }
  const name = spec.name ?? basename(spec.rerank);
  const missingText = spec.missingText ?? 'error';
  if (extname(spec.rerank).toLowerCase() === '.json') {
    // Candidate lists carry their own texts; --queries / --corpus, when given, take precedence.
    const lists = await readCandidateLists(spec.rerank, warn);
    const queries = spec.queries !== undefined ? await readSpecQueries(spec.queries) : new Map(lists.map((l) => [l.qid, l.query]));
    const passages = candidatePassages(lists);
    if (spec.corpus !== undefined && spec.corpus.length > 0) {
      const given = await readPassages(spec.corpus, warn);
      for (const [id, text] of passages) if (!given.has(id)) given.set(id, text);
      return { mode: 'rerank', name, queries, qrels, relevanceLevel, candidates: candidatesToRun(lists), passages: given, missingText };
    }
    return { mode: 'rerank', name, queries, qrels, relevanceLevel, candidates: candidatesToRun(lists), passages, missingText };
  }
  if (spec.queries === undefined) {
    throw new SemsearchError('INVALID_ARGUMENT', `re-ranking the run file ${spec.rerank} needs the query texts (queries)`, { field: 'queries' });
  }
  if (spec.corpus === undefined || spec.corpus.length === 0) {
    throw new SemsearchError('INVALID_ARGUMENT', `re-ranking the run file ${spec.rerank} needs the passage texts (corpus)`, { field: 'corpus' });
  }
  const queries = await readSpecQueries(spec.queries);
  const candidates = await readTrecRun(spec.rerank);
  const passages = await readPassages(spec.corpus, warn);
  return { mode: 'rerank', name, queries, qrels, relevanceLevel, candidates, passages, missingText };
}
