import { SemsearchError } from '../errors.js';
import { toMatrix, type MatrixLike } from '../tensor/matrix.js';
import { heapPush, heapPushPop } from './heapq.js';
import { cosSim, type ScoreFunction } from './similarity.js';
import { torchTopkIndices } from './torch-topk.js';

export interface SearchHit {
  corpusId: number;
  score: number;
}

export interface SemanticSearchOptions {
  /** Hits per query (default 10). */
  topK?: number;
  /** Queries scored at once (default 100). */
  queryChunkSize?: number;
  /** Corpus rows scored at once (default 500000). */
  corpusChunkSize?: number;
  /** Default cosSim; dotScore for dot-product models. */
  scoreFunction?: ScoreFunction;
}

type Entry = [score: number, corpusId: number];

// Python's tuple order: score first, then corpus id.
function less(a: Entry, b: Entry): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new SemsearchError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${v}`, { field: name });
  }
  return v;
}

/**
 * The top-k corpus rows for every query, as sentence-transformers' util.semantic_search: same defaults,
 * same chunking, same tie order (torch.topk's order feeding a heapq heap, then a stable sort by score).
 */
export function semanticSearch(queryEmbeddings: MatrixLike, corpusEmbeddings: MatrixLike, options: SemanticSearchOptions = {}): SearchHit[][] {
  const q = toMatrix(queryEmbeddings, 'queryEmbeddings');
  const c = toMatrix(corpusEmbeddings, 'corpusEmbeddings');
  const topK = positiveInt(options.topK ?? 10, 'topK');
  const qChunk = positiveInt(options.queryChunkSize ?? 100, 'queryChunkSize');
  const cChunk = positiveInt(options.corpusChunkSize ?? 500000, 'corpusChunkSize');
  const score = options.scoreFunction ?? cosSim;
  if (q.rows > 0 && c.rows > 0 && q.dim !== c.dim) {
    throw new SemsearchError('SHAPE_MISMATCH', `queries have dim ${q.dim} but the corpus has dim ${c.dim}`, { field: 'corpusEmbeddings' });
  }
  const heaps: Entry[][] = Array.from({ length: q.rows }, () => []);
  for (let qs = 0; qs < q.rows; qs += qChunk) {
    const qPart = q.slice(qs, qs + qChunk);
    for (let cs = 0; cs < c.rows; cs += cChunk) {
      const cPart = c.slice(cs, cs + cChunk);
      const scores = score(qPart, cPart);
      const k = Math.min(topK, cPart.rows);
      const row = new Float64Array(cPart.rows);
      for (let i = 0; i < qPart.rows; i++) {
        // torch.topk works on the float32 table; .tolist() hands Python the same values as doubles.
        for (let j = 0; j < cPart.rows; j++) row[j] = scores.data[i * cPart.rows + j] as number;
        const heap = heaps[qs + i] as Entry[];
        for (const j of torchTopkIndices(row, k)) {
          const entry: Entry = [row[j] as number, cs + j];
          if (heap.length < topK) heapPush(heap, entry, less);
          else heapPushPop(heap, entry, less);
        }
      }
    }
  }
  // Array.prototype.sort is stable, as Python's sorted(..., reverse=True) keeps equal scores in heap order.
  return heaps.map((heap) => heap.map(([s, id]) => ({ corpusId: id, score: s })).sort((a, b) => b.score - a.score));
}
