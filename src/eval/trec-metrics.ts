import { SemsearchError } from '../errors.js';
import { compareCodePoints } from './codepoint-order.js';
import type { Qrels } from './qrels.js';
import { assertUniqueDocids, type RankedList, type Run } from '../rerank/ranked-list.js';
import type { WarningHandler } from '../corpus/warnings.js';

/*
 * trec_eval's measures, as trec_eval 9 (and pytrec_eval, which embeds it) computes them. Names are
 * trec_eval's own (`ndcg_cut_10`, `P_10`, `recip_rank`), so they never mix with the sentence-transformers
 * ones in st-metrics.ts (`ndcg@10`, `precision@10`, `mrr@10`), whose definitions differ.
 */

/** The measures semsearch reports by default: the TREC DL set plus the usual cutoffs. */
export const DEFAULT_TREC_MEASURES: readonly string[] = [
  'ndcg_cut_10',
  'ndcg_cut_100',
  'recip_rank',
  'map',
  'map_cut_10',
  'map_cut_100',
  'map_cut_1000',
  'recall_100',
  'recall_1000',
  'P_10',
];

type Measure =
  | { name: string; kind: 'map' | 'recip_rank' | 'ndcg' | 'Rprec' | 'num_ret' | 'num_rel' | 'num_rel_ret' }
  | { name: string; kind: 'ndcg_cut' | 'map_cut' | 'P' | 'recall' | 'success'; k: number };

const PLAIN = new Set(['map', 'recip_rank', 'ndcg', 'Rprec', 'num_ret', 'num_rel', 'num_rel_ret']);
const CUT = /^(ndcg_cut|map_cut|P|recall|success)(?:_|\.)(\d+(?:,\d+)*)$/;

/**
 * Parse measure names. Accepts trec_eval's result names (`ndcg_cut_10`) and its command-line form with
 * several cutoffs (`ndcg_cut.5,10,100`, expanded to three names).
 */
export function parseTrecMeasures(names: readonly string[]): Measure[] {
  const out: Measure[] = [];
  const seen = new Set<string>();
  const push = (m: Measure): void => {
    if (!seen.has(m.name)) {
      seen.add(m.name);
      out.push(m);
    }
  };
  for (const name of names) {
    if (PLAIN.has(name)) {
      push({ name, kind: name as 'map' });
      continue;
    }
    const m = CUT.exec(name);
    if (m === null) {
      throw new SemsearchError(
        'INVALID_ARGUMENT',
        `unknown trec_eval measure "${name}"; known: map, recip_rank, ndcg, Rprec, num_ret, num_rel, num_rel_ret, ` +
          'and ndcg_cut_K, map_cut_K, P_K, recall_K, success_K',
        { field: 'measures' },
      );
    }
    const kind = m[1] as 'ndcg_cut';
    for (const kText of (m[2] as string).split(',')) {
      const k = Number(kText);
      if (!Number.isSafeInteger(k) || k < 1) {
        throw new SemsearchError('INVALID_ARGUMENT', `cutoff in "${name}" must be a positive integer`, { field: 'measures' });
      }
      push({ name: `${kind}_${k}`, kind, k });
    }
  }
  return out;
}

/**
 * trec_eval's ranking of one query: score descending, ties broken by docno descending (strcmp order). The
 * rank column of a run file plays no part. Scores are compared as float32, because trec_eval stores them
 * in a `float`: two scores that differ only beyond float precision tie, and the docno decides.
 */
export function trecRanking(list: RankedList): string[] {
  const n = list.docids.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  const sims = list.scores.map((s) => Math.fround(s));
  idx.sort((a, b) => {
    const d = (sims[b] as number) - (sims[a] as number);
    if (d !== 0) return d;
    return compareCodePoints(list.docids[b] as string, list.docids[a] as string);
  });
  return idx.map((i) => list.docids[i] as string);
}

// trec_eval's relevance of a retrieved doc that is not in the qrels, or is judged with a negative value.
const NONPOOL = -1;
const UNJUDGED = -2;

/**
 * trec_eval's measures for one query, given its judgments and its ranking (already in trec_eval's order,
 * see trecRanking). `relevanceLevel` is the threshold of the binary measures; nDCG uses the grades.
 */
export function trecEvalQuery(
  judgments: ReadonlyMap<string, number> | undefined,
  ranking: readonly string[],
  measures: readonly Measure[],
  relevanceLevel: number,
): Record<string, number> {
  const rels = ranking.map((d) => {
    const r = judgments?.get(d);
    if (r === undefined) return NONPOOL;
    return r < 0 ? UNJUDGED : r;
  });
  // How many judged docs sit at each non-negative grade: the ideal ranking for nDCG, and R for the rest.
  const levelCounts: number[] = [];
  let numRel = 0;
  if (judgments !== undefined) {
    for (const r of judgments.values()) {
      if (r < 0) continue;
      levelCounts[r] = (levelCounts[r] ?? 0) + 1;
      if (r >= relevanceLevel) numRel++;
    }
  }
  const isRel = rels.map((r) => r >= relevanceLevel);
  const numRet = ranking.length;
  let numRelRet = 0;
  for (const r of isRel) if (r) numRelRet++;

  // Ideal gains: every judged doc with grade >= 1, best first (trec_eval walks rel_levels downwards).
  const ideal: number[] = [];
  for (let g = levelCounts.length - 1; g >= 1; g--) for (let c = levelCounts[g] ?? 0; c > 0; c--) ideal.push(g);

  const dcg = (gains: readonly number[], k: number): number => {
    let sum = 0;
    const n = Math.min(k, gains.length);
    for (let i = 0; i < n; i++) {
      const g = gains[i] as number;
      if (g > 0) sum += g / Math.log2(i + 2);
    }
    return sum;
  };
  const relCountAt = (k: number): number => {
    let c = 0;
    const n = Math.min(k, numRet);
    for (let i = 0; i < n; i++) if (isRel[i]) c++;
    return c;
  };
  const apAt = (k: number): number => {
    if (numRel === 0) return 0;
    let sum = 0;
    let found = 0;
    const n = Math.min(k, numRet);
    for (let i = 0; i < n; i++) {
      if (isRel[i]) {
        found++;
        sum += found / (i + 1);
      }
    }
    return sum / numRel;
  };

  const out: Record<string, number> = {};
  for (const m of measures) {
    switch (m.kind) {
      case 'map':
        out[m.name] = apAt(numRet);
        break;
      case 'map_cut':
        out[m.name] = apAt(m.k);
        break;
      case 'recip_rank': {
        const first = isRel.indexOf(true);
        out[m.name] = first === -1 ? 0 : 1 / (first + 1);
        break;
      }
      case 'ndcg': {
        const idcg = dcg(ideal, ideal.length);
        out[m.name] = idcg > 0 ? dcg(rels, numRet) / idcg : 0;
        break;
      }
      case 'ndcg_cut': {
        const idcg = dcg(ideal, m.k);
        // trec_eval leaves the plain DCG (0 here, as nothing is relevant) when the ideal is 0.
        out[m.name] = idcg > 0 ? dcg(rels, m.k) / idcg : dcg(rels, m.k);
        break;
      }
      case 'P':
        out[m.name] = relCountAt(m.k) / m.k;
        break;
      case 'recall':
        out[m.name] = numRel === 0 ? 0 : relCountAt(m.k) / numRel;
        break;
      case 'success':
        out[m.name] = relCountAt(m.k) > 0 ? 1 : 0;
        break;
      case 'Rprec':
        out[m.name] = numRel === 0 ? 0 : relCountAt(numRel) / numRel;
        break;
      case 'num_ret':
        out[m.name] = numRet;
        break;
      case 'num_rel':
        out[m.name] = numRel;
        break;
      case 'num_rel_ret':
        out[m.name] = numRelRet;
        break;
    }
  }
  return out;
}

export interface TrecEvalOptions {
  /** Grade at which a document counts as relevant for the binary measures. Default 1; TREC DL uses 2. */
  relevanceLevel?: number;
  /** Measure names (see parseTrecMeasures). Default DEFAULT_TREC_MEASURES. */
  measures?: readonly string[];
  /**
   * trec_eval's -c: judged queries missing from the run are scored on an empty ranking and count in the
   * mean. Off by default, as in trec_eval and pytrec_eval, which skip them.
   */
  complete?: boolean;
  onWarning?: WarningHandler;
}

export interface TrecEvalResult {
  measures: string[];
  relevanceLevel: number;
  /** Per evaluated query (run order; then, with `complete`, the missing judged queries). */
  perQuery: Map<string, Record<string, number>>;
  /**
   * trec_eval's "all" line: the mean over evaluated queries, except num_ret, num_rel and num_rel_ret,
   * which are summed (as pytrec_eval.compute_aggregated_measure does).
   */
  summary: Record<string, number>;
}

const SUMMED = new Set(['num_ret', 'num_rel', 'num_rel_ret']);

/**
 * Evaluate a run against qrels the way trec_eval does: each run query that has judgments is ranked by
 * score (then docno descending) and scored; run queries without judgments are skipped (counted as
 * RUN_QUERY_NOT_IN_QRELS warnings); judged queries missing from the run are skipped too (counted as
 * QRELS_QUERY_NOT_IN_RUN) unless `complete` is set.
 */
export function trecEval(qrels: Qrels, run: Run, options: TrecEvalOptions = {}): TrecEvalResult {
  const relevanceLevel = options.relevanceLevel ?? 1;
  if (!Number.isInteger(relevanceLevel) || relevanceLevel < 1) {
    // pytrec_eval refuses it too: with level 0 every unjudged-but-retrieved doc would be "relevant".
    throw new SemsearchError('INVALID_ARGUMENT', `relevanceLevel must be a positive integer, got ${relevanceLevel}`, {
      field: 'relevanceLevel',
    });
  }
  const measures = parseTrecMeasures(options.measures ?? DEFAULT_TREC_MEASURES);
  const perQuery = new Map<string, Record<string, number>>();
  for (const [qid, list] of run) {
    const judgments = qrels.get(qid);
    if (judgments === undefined) {
      options.onWarning?.({
        code: 'RUN_QUERY_NOT_IN_QRELS',
        message: `run query ${qid} has no judgments; skipped as trec_eval does`,
        query: qid,
      });
      continue;
    }
    assertUniqueDocids(qid, list);
    perQuery.set(qid, trecEvalQuery(judgments, trecRanking(list), measures, relevanceLevel));
  }
  for (const [qid, judgments] of qrels) {
    if (run.has(qid)) continue;
    options.onWarning?.({
      code: 'QRELS_QUERY_NOT_IN_RUN',
      message: `judged query ${qid} is not in the run; ${options.complete === true ? 'scored 0 (complete)' : 'skipped as trec_eval does'}`,
      query: qid,
    });
    if (options.complete === true) perQuery.set(qid, trecEvalQuery(judgments, [], measures, relevanceLevel));
  }
  const summary: Record<string, number> = {};
  for (const m of measures) {
    let sum = 0;
    for (const v of perQuery.values()) sum += v[m.name] as number;
    summary[m.name] = SUMMED.has(m.name) || perQuery.size === 0 ? sum : sum / perQuery.size;
  }
  return { measures: measures.map((m) => m.name), relevanceLevel, perQuery, summary };
}
