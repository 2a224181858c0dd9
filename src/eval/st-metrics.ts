import { SemsearchError } from '../errors.js';
import { heapPush, heapPushPop } from '../score/heapq.js';
import { compareCodePoints } from './codepoint-order.js';
import { relevantDocs, type QueryIds, type Qrels } from './qrels.js';
import { assertUniqueDocids, type RankedList, type Run } from '../rerank/ranked-list.js';
import type { WarningHandler } from '../corpus/warnings.js';

/*
 * sentence-transformers' InformationRetrievalEvaluator (5.x), formula for formula. Its names (`ndcg@10`,
 * `mrr@10`, `map@100`, `accuracy@1`) are kept apart from trec_eval's because the definitions differ:
 * NDCG is binary, MAP@k divides by min(k, |relevant|), and the order of tied scores is its own (below).
 */

export interface StIrOptions {
  accuracyAtK?: readonly number[];
  precisionRecallAtK?: readonly number[];
  mrrAtK?: readonly number[];
  ndcgAtK?: readonly number[];
  mapAtK?: readonly number[];
  /**
   * The evaluator takes a set of relevant documents per query; graded qrels become that set at this
   * level (judgments >= level). Default 1.
   */
  relevanceLevel?: number;
  /**
   * The evaluator's `queries`: only these are scored, in this order. Default: every judged query. Either
   * way a query needs at least one relevant document, as in the evaluator.
   */
  queries?: QueryIds;
  onWarning?: WarningHandler;
}

/** The evaluator's defaults. */
export const ST_DEFAULT_K = {
  accuracyAtK: [1, 3, 5, 10],
  precisionRecallAtK: [1, 3, 5, 10],
  mrrAtK: [10],
  ndcgAtK: [10],
  mapAtK: [100],
} as const;

interface Hit {
  score: number;
  id: string;
}

/** Python's `(score, corpus_id) < (score2, corpus_id2)` for the heap's tuples. */
function tupleLess(a: Hit, b: Hit): boolean {
  if (a.score !== b.score) return a.score < b.score;
  return compareCodePoints(a.id, b.id) < 0;
}

/**
 * The evaluator's ranking of one query: hits are pushed, in the order given, onto a min-heap of
 * (score, corpus_id) tuples holding `maxK` of them (so at the cut, equal scores keep the larger id), then
 * sorted by score alone, descending and stable, which leaves tied hits in the heap's array order.
 * The order given is the evaluator's corpus order; for a run file, the file's order.
 */
export function stRanking(list: RankedList, maxK: number): string[] {
  const heap: Hit[] = [];
  for (let i = 0; i < list.docids.length; i++) {
    const hit = { score: list.scores[i] as number, id: list.docids[i] as string };
    if (heap.length < maxK) heapPush(heap, hit, tupleLess);
    else heapPushPop(heap, hit, tupleLess);
  }
  // Array.prototype.sort is stable, like Python's sorted(..., reverse=True) on equal keys.
  return heap.sort((a, b) => b.score - a.score).map((h) => h.id);
}

interface Cutoffs {
  accuracyAtK: readonly number[];
  precisionRecallAtK: readonly number[];
  mrrAtK: readonly number[];
  ndcgAtK: readonly number[];
  mapAtK: readonly number[];
}

function cutoffs(options: StIrOptions): Cutoffs {
  return {
    accuracyAtK: options.accuracyAtK ?? ST_DEFAULT_K.accuracyAtK,
    precisionRecallAtK: options.precisionRecallAtK ?? ST_DEFAULT_K.precisionRecallAtK,
    mrrAtK: options.mrrAtK ?? ST_DEFAULT_K.mrrAtK,
    ndcgAtK: options.ndcgAtK ?? ST_DEFAULT_K.ndcgAtK,
    mapAtK: options.mapAtK ?? ST_DEFAULT_K.mapAtK,
  };
}

function checkKs(name: string, ks: readonly number[]): void {
  if (ks.length === 0 || !ks.every((k) => Number.isSafeInteger(k) && k >= 1)) {
    throw new SemsearchError('INVALID_ARGUMENT', `${name} must be a non-empty list of positive integers`, { field: name });
  }
}

/** The metric names the evaluator reports for these cutoffs, in its print order. */
export function stMeasureNames(options: StIrOptions = {}): string[] {
  const k = cutoffs(options);
  return [
    ...k.accuracyAtK.map((x) => `accuracy@${x}`),
    ...k.precisionRecallAtK.map((x) => `precision@${x}`),
    ...k.precisionRecallAtK.map((x) => `recall@${x}`),
    ...k.mrrAtK.map((x) => `mrr@${x}`),
    ...k.ndcgAtK.map((x) => `ndcg@${x}`),
    ...k.mapAtK.map((x) => `map@${x}`),
  ];
}

/** The evaluator's dcg: sum of rel_i / log2(i + 2) over the first k entries. */
function dcgAtK(relevances: readonly number[], k: number): number {
  let dcg = 0;
  const n = Math.min(relevances.length, k);
  for (let i = 0; i < n; i++) dcg += (relevances[i] as number) / Math.log2(i + 2);
  return dcg;
}

/** The evaluator's metrics for one query, from its ranked hits and its set of relevant documents. */
export function stQueryMetrics(topHits: readonly string[], relevant: ReadonlySet<string>, options: StIrOptions = {}): Record<string, number> {
  const k = cutoffs(options);
  const out: Record<string, number> = {};
  const isRel = topHits.map((d) => relevant.has(d));
  const correctIn = (kv: number): number => {
    let c = 0;
    for (let i = 0; i < Math.min(kv, isRel.length); i++) if (isRel[i]) c++;
    return c;
  };
  for (const kv of k.accuracyAtK) out[`accuracy@${kv}`] = correctIn(kv) > 0 ? 1 : 0;
  for (const kv of k.precisionRecallAtK) out[`precision@${kv}`] = correctIn(kv) / kv;
  for (const kv of k.precisionRecallAtK) out[`recall@${kv}`] = correctIn(kv) / relevant.size;
  for (const kv of k.mrrAtK) {
    const first = isRel.slice(0, kv).indexOf(true);
    out[`mrr@${kv}`] = first === -1 ? 0 : 1 / (first + 1);
  }
  for (const kv of k.ndcgAtK) {
    const predicted = isRel.slice(0, kv).map((r) => (r ? 1 : 0));
    const ideal = new Array<number>(relevant.size).fill(1);
    out[`ndcg@${kv}`] = dcgAtK(predicted, kv) / dcgAtK(ideal, kv);
  }
  for (const kv of k.mapAtK) {
    let correct = 0;
    let sum = 0;
    for (let i = 0; i < Math.min(kv, isRel.length); i++) {
      if (isRel[i]) {
        correct++;
        sum += correct / (i + 1);
      }
    }
    out[`map@${kv}`] = sum / Math.min(kv, relevant.size);
  }
  return out;
}

export interface StIrResult {
  measures: string[];
  relevanceLevel: number;
  /** Per scored query, in the evaluator's query order. */
  perQuery: Map<string, Record<string, number>>;
  /** The evaluator's returned values: the mean over scored queries. */
  summary: Record<string, number>;
}

/**
 * Score a run as InformationRetrievalEvaluator would have scored the same hits: queries without a
 * relevant document are left out (QUERY_WITHOUT_RELEVANT warning); a scored query missing from the run
 * scores 0 and counts in the mean (QRELS_QUERY_NOT_IN_RUN); run queries without judgments are ignored
 * (RUN_QUERY_NOT_IN_QRELS).
 */
export function stIrEvaluate(qrels: Qrels, run: Run, options: StIrOptions = {}): StIrResult {
  const k = cutoffs(options);
  checkKs('accuracyAtK', k.accuracyAtK);
  checkKs('precisionRecallAtK', k.precisionRecallAtK);
  checkKs('mrrAtK', k.mrrAtK);
  checkKs('ndcgAtK', k.ndcgAtK);
  checkKs('mapAtK', k.mapAtK);
  const relevanceLevel = options.relevanceLevel ?? 1;
  if (!Number.isFinite(relevanceLevel)) {
    throw new SemsearchError('INVALID_ARGUMENT', `relevanceLevel must be a number, got ${relevanceLevel}`, { field: 'relevanceLevel' });
  }
  const maxK = Math.max(...k.accuracyAtK, ...k.precisionRecallAtK, ...k.mrrAtK, ...k.ndcgAtK, ...k.mapAtK);
  const measures = stMeasureNames(options);
  const perQuery = new Map<string, Record<string, number>>();
  const queryIds = options.queries !== undefined ? [...options.queries.keys()] : [...qrels.keys()];
  for (const qid of queryIds) {
    const relevant = relevantDocs(qrels.get(qid), relevanceLevel);
    if (relevant.size === 0) {
      if (qrels.has(qid)) {
        options.onWarning?.({
          code: 'QUERY_WITHOUT_RELEVANT',
          message: `query ${qid} has no document judged >= ${relevanceLevel}; the sentence-transformers evaluator skips it`,
          query: qid,
        });
      }
      continue;
    }
    const list = run.get(qid);
    if (list === undefined) {
      options.onWarning?.({
        code: 'QRELS_QUERY_NOT_IN_RUN',
        message: `query ${qid} is not in the run; the sentence-transformers evaluator scores it 0`,
        query: qid,
      });
    }
    if (list !== undefined) assertUniqueDocids(qid, list);
    const top = list === undefined ? [] : stRanking(list, maxK);
    perQuery.set(qid, stQueryMetrics(top, relevant, options));
  }
  for (const qid of run.keys()) {
    if (!qrels.has(qid)) {
      options.onWarning?.({ code: 'RUN_QUERY_NOT_IN_QRELS', message: `run query ${qid} has no judgments; ignored`, query: qid });
    }
  }
  const summary: Record<string, number> = {};
  for (const m of measures) {
    let sum = 0;
    for (const v of perQuery.values()) sum += v[m] as number;
    summary[m] = perQuery.size === 0 ? 0 : sum / perQuery.size;
  }
  return { measures, relevanceLevel, perQuery, summary };
}
