// One hit per document in a chunked index: its windows' ranking grouped by document id.
import type { ScoredRow } from './exact-search.js';
import type { ChunkScore } from './searcher.js';

/** A document's hit: its winning window (row and score) and the document's score. */
export interface DocumentHit {
  id: string;
  /** The best window's row and score. */
  row: number;
  chunkScore: number;
  /** The document's score: the best window's, or the sum of its best `sum` windows'. */
  score: number;
}

export interface GroupOptions {
  how: ChunkScore;
  /** Windows summed by 'sum'. */
  sum: number;
}

/**
 * The k best documents of a ranking of windows, when a prefix of it settles them; undefined when a deeper prefix
 * is needed. `ranked` is the ranking's first rows, best first; `exhausted` says it is the whole ranking.
 *
 * 'max': a document's score is its best window's, so the first k distinct documents of the prefix are the k best,
 * in that order. 'sum': a document's score sums its best `sum` windows (fewer when it has fewer). Every window not
 * yet seen scores at most the prefix's last score t, so a document with c of its n windows seen, summing S, ends
 * at most S + (min(sum, n) − c)·t, and one not seen at most max(sum·t, t); the prefix settles the top k when k
 * documents whose windows are all counted score above every such bound. Ties order by first appearance.
 */
export function groupRanking(
  ranked: readonly ScoredRow[],
  k: number,
  exhausted: boolean,
  options: GroupOptions,
  idOf: (row: number) => string,
  windowsOf: (id: string) => number,
): DocumentHit[] | undefined {
  if (options.how === 'max') {
    const out: DocumentHit[] = [];
    const seen = new Set<string>();
    for (const h of ranked) {
      const id = idOf(h.row);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ id, row: h.row, chunkScore: h.score, score: h.score });
      if (out.length === k) return out;
    }
    return exhausted ? out : undefined;
  }
  const docs = new Map<string, { id: string; row: number; chunkScore: number; scores: number[]; first: number }>();
  ranked.forEach((h, pos) => {
    const id = idOf(h.row);
    let d = docs.get(id);
    if (d === undefined) {
      d = { id, row: h.row, chunkScore: h.score, scores: [], first: pos };
      docs.set(id, d);
    }
    if (d.scores.length < options.sum) d.scores.push(h.score);
  });
  const sumOf = (scores: readonly number[]): number => scores.reduce((a, b) => a + b, 0);
  const settled: DocumentHit[] = [];
  const order = new Map<string, number>();
  let bound = Number.NEGATIVE_INFINITY;
  const t = ranked.length > 0 ? (ranked[ranked.length - 1] as ScoredRow).score : Number.NEGATIVE_INFINITY;
  if (!exhausted) bound = Math.max(options.sum * t, t);
  for (const d of docs.values()) {
    const n = exhausted ? d.scores.length : Math.min(options.sum, windowsOf(d.id));
    const score = sumOf(d.scores);
    if (exhausted || d.scores.length >= n) {
      settled.push({ id: d.id, row: d.row, chunkScore: d.chunkScore, score });
      order.set(d.id, d.first);
    } else bound = Math.max(bound, score + (n - d.scores.length) * t);
  }
  settled.sort((a, b) => b.score - a.score || (order.get(a.id) as number) - (order.get(b.id) as number));
  if (exhausted) return settled.slice(0, k);
  if (settled.length >= k && (settled[k - 1] as DocumentHit).score > bound) return settled.slice(0, k);
  return undefined;
}
