import { SemsearchError } from '../errors.js';
import type { CrossEncoder, PredictOptions } from '../encoder/cross-encoder.js';
import type { IndexHit } from '../store/searcher.js';

/** A hit re-scored by a cross-encoder: `score` is the cross-encoder's, `retrievalScore` the index's. */
export type RerankedHit = IndexHit & { retrievalScore: number };

/**
 * Retrieve, then re-rank: each query's hits (the index's top candidates) re-scored by the cross-encoder reading the
 * query and the hit's text together, best first (equal scores keep the index's order), the first `k` kept. All
 * pairs go to one predict() call, so its batches are full.
 */
export async function rerankHits(
  crossEncoder: Pick<CrossEncoder, 'numLabels' | 'predict'>,
  queries: readonly string[],
  hits: readonly (readonly IndexHit[])[],
  options: { k: number } & Pick<PredictOptions, 'batchSize' | 'timings' | 'signal'>,
): Promise<RerankedHit[][]> {
  if (crossEncoder.numLabels !== 1) {
    throw new SemsearchError('UNSUPPORTED_MODEL', `re-ranking needs a cross-encoder with one output (a relevance score); this one has ${crossEncoder.numLabels}`, { field: 'rerank' });
  }
  if (queries.length !== hits.length) throw new SemsearchError('SHAPE_MISMATCH', `${queries.length} queries but ${hits.length} hit lists`, { field: 'hits' });
  const pairs: [string, string][] = [];
  hits.forEach((list, qi) => list.forEach((h) => pairs.push([queries[qi] as string, h.text])));
  const scores = (await crossEncoder.predict(pairs, { ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}), ...(options.timings !== undefined ? { timings: options.timings } : {}), ...(options.signal !== undefined ? { signal: options.signal } : {}) })).data;
  let at = 0;
  return hits.map((list) => {
    const scored = list.map((h, i) => ({ hit: { ...h, score: scores[at + i] as number, retrievalScore: h.score }, i }));
    at += list.length;
    scored.sort((a, b) => b.hit.score - a.hit.score || a.i - b.i);
    return scored.slice(0, options.k).map((s) => s.hit);
  });
}
