import { SemsearchError } from '../errors.js';

export type SearchMode = 'vector' | 'keyword' | 'hybrid';
export const SEARCH_MODES: readonly SearchMode[] = ['vector', 'keyword', 'hybrid'];
export type FusionMethod = 'rrf' | 'weighted';
export const FUSION_METHODS: readonly FusionMethod[] = ['rrf', 'weighted'];

/** Reciprocal rank fusion's constant, as Cormack et al. (2009) and Elasticsearch/OpenSearch use it. */
export const RRF_K = 60;
export const DEFAULT_FUSION_DEPTH = 100;
export const MAX_FUSION_DEPTH = 10000;

export interface FusionOptions {
  fusion?: FusionMethod;
  vectorWeight?: number;
}

/** Coded errors for fusion options, before any search work is done. */
export function checkFusion(options: FusionOptions & { fusionDepth?: number }): void {
  const method = options.fusion ?? 'rrf';
  if (!FUSION_METHODS.includes(method)) {
    throw new SemsearchError('INVALID_ARGUMENT', `fusion must be one of ${FUSION_METHODS.join(', ')}, got ${JSON.stringify(method)}`, { field: 'fusion' });
  }
  const w = options.vectorWeight ?? 0.5;
  if (!(typeof w === 'number' && w >= 0 && w <= 1)) {
    throw new SemsearchError('INVALID_ARGUMENT', `vectorWeight must be a number from 0 to 1, got ${JSON.stringify(w)}`, { field: 'vectorWeight' });
  }
  const d = options.fusionDepth;
  if (d !== undefined && (!Number.isInteger(d) || d < 1 || d > MAX_FUSION_DEPTH)) {
    throw new SemsearchError('INVALID_ARGUMENT', `fusionDepth must be an integer from 1 to ${MAX_FUSION_DEPTH}, got ${JSON.stringify(d)}`, { field: 'fusionDepth' });
  }
}

/**
 * Fuse a vector ranking and a keyword ranking of one query (each best first) into one, best first; equal fused
 * scores keep the lower row.
 * - rrf: Σ 1 / (60 + rank) over the rankings a passage is in (ranks from 1): scores on different scales never mix.
 * - weighted: each ranking's scores min-max normalised to [0, 1] (a ranking of equal scores gives 1), then
 *   w · vector + (1 − w) · keyword, a passage missing from a ranking counting 0 there.
 */
export function fuse(
  vector: readonly { index: number; score: number }[],
  keyword: readonly { index: number; score: number }[],
  options: FusionOptions = {},
): { index: number; score: number }[] {
  checkFusion(options);
  const method = options.fusion ?? 'rrf';
  const w = options.vectorWeight ?? 0.5;
  const fused = new Map<number, number>();
  const add = (list: readonly { index: number; score: number }[], weight: number): void => {
    if (list.length === 0) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (const h of list) {
      lo = Math.min(lo, h.score);
      hi = Math.max(hi, h.score);
    }
    list.forEach((h, rank) => {
      const part = method === 'rrf' ? 1 / (RRF_K + rank + 1) : weight * (hi > lo ? (h.score - lo) / (hi - lo) : 1);
      fused.set(h.index, (fused.get(h.index) ?? 0) + part);
    });
  };
  add(vector, w);
  add(keyword, 1 - w);
  return [...fused].map(([index, score]) => ({ index, score })).sort((a, b) => b.score - a.score || a.index - b.index);
}
