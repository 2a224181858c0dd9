import { SemsearchError } from '../errors.js';
import { semanticSearch } from '../score/semantic-search.js';
import { cosSim } from '../score/similarity.js';
import { torchTopkIndices } from '../score/torch-topk.js';
import type { Matrix } from '../tensor/matrix.js';
import { encodeAll, type RerankEncoder } from '../rerank/rerank.js';
import type { Run } from './run.js';
import { ST_DEFAULT_K } from './st-metrics.js';

/** What full retrieval needs from a bi-encoder: the same as re-ranking (a SentenceTransformer fits as is). */
export type RetrieveEncoder = RerankEncoder;

export interface RetrieveOptions {
  /** Hits per query in the run (default 1000, trec_eval's deepest default cutoff). */
  depth?: number;
  /**
   * The sentence-transformers evaluator's largest k (default 100, its MAP@100): how many hits per corpus chunk
   * it keeps. The run starts with exactly those hits, in the order the evaluator receives them (below).
   */
  evaluatorTopK?: number;
  /** Corpus texts encoded and scored at once (default 50000, the evaluator's corpus_chunk_size). */
  corpusChunkSize?: number;
  /** Queries scored at once (default 100), which bounds the score table to queryChunkSize × corpusChunkSize. */
  queryChunkSize?: number;
  /**
   * Documents as windows: the texts the encoder reads for one corpus text (e.g. its token windows, encoder/chunk.ts).
   * A document then scores its best window's score, and both rankings are the documents in that order (best
   * first; ties by corpus order): sentence-transformers' evaluator has no such mode to follow.
   */
  windows?: (text: string, id: string) => string[];
  /** Called after each encode call. */
  onProgress?: (p: { phase: 'queries' | 'documents'; done: number; total: number }) => void;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new SemsearchError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${v}`, { field: name });
  return v;
}

/** A full-retrieval ranking and the part of it sentence-transformers' evaluator would score. */
export interface Retrieval {
  /** Each query's top `depth` hits, best first, in util.semantic_search's order: what a TREC run file holds. */
  run: Run;
  /**
   * Each query's evaluator hits alone, in the order the evaluator receives them: what its heap holds. Scored
   * by evaluateRun's `stRun`, they give InformationRetrievalEvaluator's numbers even where scores tie.
   */
  evaluatorRun: Run;
}

/**
 * Full retrieval: encode every query (encodeQuery) and corpus text (encodeDocument), score them with the
 * encoder's similarity (the model's similarity_fn_name; cosine without one) and return each query's top
 * `depth` hits as a run, ready for evaluateRun and writeTrecRun.
 *
 * Two rankings come back because the two evaluators disagree where scores tie (duplicate passages are
 * common). `run` is util.semantic_search's (best first; what Python writes as a TREC run and trec_eval
 * scores, re-sorting by score and docno). `evaluatorRun` is what InformationRetrievalEvaluator's heap is fed:
 * per corpus chunk of `corpusChunkSize`, torch.topk(sorted=False) of its top k, in torch's order; replaying
 * `run` instead can differ when a hit the evaluator never saw ties with its k-th, so evaluateModel scores the
 * sentence-transformers metrics on `evaluatorRun`.
 */
export async function retrieve(
  encoder: RetrieveEncoder,
  corpus: ReadonlyMap<string, string>,
  queries: ReadonlyMap<string, string>,
  options: RetrieveOptions = {},
): Promise<Retrieval> {
  const depth = positiveInt(options.depth ?? 1000, 'depth');
  const evalK = Math.min(positiveInt(options.evaluatorTopK ?? Math.max(...Object.values(ST_DEFAULT_K).flat()), 'evaluatorTopK'), depth);
  const chunk = positiveInt(options.corpusChunkSize ?? 50000, 'corpusChunkSize');
  const qChunk = positiveInt(options.queryChunkSize ?? 100, 'queryChunkSize');
  if (corpus.size === 0) throw new SemsearchError('EMPTY_INPUT', 'the corpus is empty', { field: 'corpus' });
  if (queries.size === 0) throw new SemsearchError('EMPTY_INPUT', 'there are no queries', { field: 'queries' });

  const qids = [...queries.keys()];
  const dids = [...corpus.keys()];
  const encodeQ = (t: string[]): Promise<Matrix> => (encoder.encodeQuery ? encoder.encodeQuery(t) : encoder.encode(t));
  const encodeD = (t: string[]): Promise<Matrix> => (encoder.encodeDocument ? encoder.encodeDocument(t) : encoder.encode(t));
  const score = (a: Matrix, b: Matrix): Matrix => (encoder.similarity ? encoder.similarity(a, b) : cosSim(a, b));

  const qEmb = await encodeAll(encodeQ, [...queries.values()], Math.max(qids.length, 1));
  options.onProgress?.({ phase: 'queries', done: qids.length, total: qids.length });
  if (options.windows !== undefined) return retrieveWindows(qEmb, qids, dids, corpus, options.windows, encodeD, score, depth, chunk, qChunk, options.onProgress);
  // One encode call per evaluator chunk, so the texts are length-sorted into batches over the same span.
  const dEmb = await encodeAll(encodeD, [...corpus.values()], chunk, (done) => options.onProgress?.({ phase: 'documents', done, total: dids.length }));
  if (qEmb.dim !== dEmb.dim) {
    throw new SemsearchError('SHAPE_MISMATCH', `queries were encoded to ${qEmb.dim} values but passages to ${dEmb.dim}`, { field: 'encoder' });
  }

  // The evaluator's pushes: per corpus chunk, topk of its k in torch's order.
  const pushed: { docids: string[]; scores: number[] }[] = qids.map(() => ({ docids: [], scores: [] }));
  for (let cs = 0; cs < dids.length; cs += chunk) {
    const cPart = dEmb.slice(cs, cs + chunk);
    const k = Math.min(evalK, cPart.rows);
    const row = new Float64Array(cPart.rows);
    for (let qs = 0; qs < qids.length; qs += qChunk) {
      const table = score(qEmb.slice(qs, qs + qChunk), cPart);
      for (let i = 0; i < table.rows; i++) {
        for (let j = 0; j < cPart.rows; j++) row[j] = table.data[i * cPart.rows + j] as number;
        const list = pushed[qs + i] as { docids: string[]; scores: number[] };
        for (const j of torchTopkIndices(row, k)) {
          list.docids.push(dids[cs + j] as string);
          list.scores.push(row[j] as number);
        }
      }
    }
  }

  // semanticSearch hands the score function Matrix slices of its inputs, which are Matrices here.
  const hits = semanticSearch(qEmb, dEmb, { topK: depth, scoreFunction: (a, b) => score(a as Matrix, b as Matrix), queryChunkSize: qChunk });
  const run: Run = new Map();
  const evaluatorRun: Run = new Map();
  qids.forEach((qid, qi) => {
    evaluatorRun.set(qid, pushed[qi] as { docids: string[]; scores: number[] });
    const list: { docids: string[]; scores: number[] } = { docids: [], scores: [] };
    for (const h of hits[qi] ?? []) {
      list.docids.push(dids[h.corpusId] as string);
      list.scores.push(h.score);
    }
    run.set(qid, list);
  });
  return { run, evaluatorRun };
}

/** retrieve over documents cut into windows: each document scores its best window's score (max). */
async function retrieveWindows(
  qEmb: Matrix,
  qids: readonly string[],
  dids: readonly string[],
  corpus: ReadonlyMap<string, string>,
  windowsOf: (text: string, id: string) => string[],
  encodeD: (t: string[]) => Promise<Matrix>,
  score: (a: Matrix, b: Matrix) => Matrix,
  depth: number,
  chunk: number,
  qChunk: number,
  onProgress: RetrieveOptions['onProgress'],
): Promise<Retrieval> {
  const inputs: string[] = [];
  const owner: number[] = [];
  dids.forEach((id, d) => {
    for (const w of windowsOf(corpus.get(id) as string, id)) {
      inputs.push(w);
      owner.push(d);
    }
  });
  const wEmb = await encodeAll(encodeD, inputs, chunk, (done) => onProgress?.({ phase: 'documents', done, total: inputs.length }));
  if (qEmb.dim !== wEmb.dim) {
    throw new SemsearchError('SHAPE_MISMATCH', `queries were encoded to ${qEmb.dim} values but passages to ${wEmb.dim}`, { field: 'encoder' });
  }
  const run: Run = new Map();
  const best = new Float64Array(dids.length);
  const order = dids.map((_, i) => i);
  for (let qs = 0; qs < qids.length; qs += qChunk) {
    const q = qEmb.slice(qs, qs + qChunk);
    const tables: Matrix[] = [];
    for (let cs = 0; cs < inputs.length; cs += chunk) tables.push(score(q, wEmb.slice(cs, cs + chunk)));
    for (let i = 0; i < q.rows; i++) {
      best.fill(Number.NEGATIVE_INFINITY);
      let j = 0;
      for (const t of tables) {
        for (let c = 0; c < t.dim; c++, j++) {
          const v = t.data[i * t.dim + c] as number;
          const d = owner[j] as number;
          if (v > (best[d] as number)) best[d] = v;
        }
      }
      const top = [...order].sort((a, b) => (best[b] as number) - (best[a] as number) || a - b).slice(0, depth);
      run.set(qids[qs + i] as string, { docids: top.map((d) => dids[d] as string), scores: top.map((d) => best[d] as number) });
    }
  }
  return { run, evaluatorRun: run };
}

/** retrieve's run alone. */
export async function retrieveRun(
  encoder: RetrieveEncoder,
  corpus: ReadonlyMap<string, string>,
  queries: ReadonlyMap<string, string>,
  options: RetrieveOptions = {},
): Promise<Run> {
  return (await retrieve(encoder, corpus, queries, options)).run;
}
