import { SemsearchError } from '../errors.js';
import type { WarningHandler } from '../corpus/warnings.js';
import type { Run } from './ranked-list.js';

/** What re-ranking with a cross-encoder needs of it; a loaded CrossEncoder fits as is. */
export interface PairScorer {
  readonly numLabels: number;
  predict(pairs: readonly (readonly [string, string])[], options?: { batchSize?: number; onProgress?: (p: { done: number; total: number }) => void }): Promise<{ data: Float32Array }>;
}

/** How many of each list a cross-encoder re-scores by default: the usual retrieve-then-re-rank depth. */
export const DEFAULT_CROSS_DEPTH = 100;

export interface CrossRerankOptions {
  /** Query id → text. */
  queries: ReadonlyMap<string, string>;
  /** The text of a document id (undefined when there is none). */
  text: (docid: string) => string | undefined;
  /** Candidates re-scored per query: the list's first `depth` by its own score (default 100). */
  depth?: number;
  /** Pairs per ONNX run (default 32). */
  batchSize?: number;
  /** A candidate without text: "error" (default, MISSING_TEXT) or "drop" it with a DOCUMENT_WITHOUT_TEXT warning. */
  missingText?: 'error' | 'drop';
  onWarning?: WarningHandler;
  onProgress?: (p: { done: number; total: number }) => void;
}

/**
 * Re-rank each query's first `depth` candidates (ranked by the run's own scores, ties in list order, as trec_eval
 * reads a run) by a cross-encoder's score of (query, passage): the new run holds just those candidates, best first.
 * Every pair of every query goes to one predict() call, so the model's batches are full.
 */
export async function crossRerankRun(scorer: PairScorer, run: Run, options: CrossRerankOptions): Promise<Run> {
  if (scorer.numLabels !== 1) {
    throw new SemsearchError('UNSUPPORTED_MODEL', `re-ranking needs a cross-encoder with one output (a relevance score); this one has ${scorer.numLabels}`, { field: 'crossEncoder' });
  }
  const depth = options.depth ?? DEFAULT_CROSS_DEPTH;
  if (!Number.isSafeInteger(depth) || depth < 1) throw new SemsearchError('INVALID_ARGUMENT', `depth must be a positive integer, got ${depth}`, { field: 'depth' });
  const pairs: [string, string][] = [];
  const lists: { qid: string; docids: string[] }[] = [];
  for (const [qid, list] of run) {
    const query = options.queries.get(qid);
    if (query === undefined) throw new SemsearchError('MISSING_TEXT', `query ${qid} of the run has no text in the queries given`, { field: 'queries' });
    const order = list.docids.map((_, i) => i).sort((a, b) => (list.scores[b] as number) - (list.scores[a] as number) || a - b);
    const docids: string[] = [];
    for (const i of order.slice(0, depth)) {
      const docid = list.docids[i] as string;
      const text = options.text(docid);
      if (text === undefined) {
        if (options.missingText !== 'drop') {
          throw new SemsearchError('MISSING_TEXT', `document ${docid} (query ${qid}) has no text to re-rank it with; give the corpus, or drop such documents (missingText: 'drop')`, { field: 'passages' });
        }
        options.onWarning?.({ code: 'DOCUMENT_WITHOUT_TEXT', message: `document ${docid} (query ${qid}) has no text; left out of the cross-encoder's re-ranking`, query: qid });
        continue;
      }
      docids.push(docid);
      pairs.push([query, text]);
    }
    lists.push({ qid, docids });
  }
  const scores = (await scorer.predict(pairs, { ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}), ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}) })).data;
  const out: Run = new Map();
  let at = 0;
  for (const { qid, docids } of lists) {
    const scored = docids.map((docid, i) => ({ docid, score: scores[at + i] as number, i }));
    at += docids.length;
    // Stable: equal scores keep the first stage's order.
    scored.sort((a, b) => b.score - a.score || a.i - b.i);
    out.set(qid, { docids: scored.map((s) => s.docid), scores: scored.map((s) => s.score) });
  }
  return out;
}
