import type { SearchMode } from '../store/fusion.js';
import { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { SemsearchError } from '../errors.js';
import type { Matrix } from '../tensor/matrix.js';
import { rerankRun } from '../rerank/rerank.js';
import { evaluateRun, type EvalReport, type EvaluateOptions } from './report.js';
import { retrieve } from './retrieve.js';
import type { Run } from './run.js';
import type { EvalTask, RetrievalTask } from './tasks.js';
import { WarningTally, type WarningHandler } from '../corpus/warnings.js';

/** What evaluateModel asks of each encode call: the batch size, and (SentenceTransformer has it) progress per batch. */
export interface EvalEncodeOptions {
  batchSize?: number;
  /** The prompt text before every text (an index's recorded query prompt); "" for none. */
  prompt?: string;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** The bi-encoder surface evaluateModel uses; a loaded SentenceTransformer fits as is. */
export interface EvalModel {
  encode(texts: string[], options?: EvalEncodeOptions): Promise<Matrix>;
  encodeQuery?(texts: string[], options?: EvalEncodeOptions): Promise<Matrix>;
  encodeDocument?(texts: string[], options?: EvalEncodeOptions): Promise<Matrix>;
  similarity?(a: Matrix, b: Matrix): Matrix;
}

/** What full retrieval needs from a built index (SearchIndex fits): the k best passages per query embedding. */
export interface IndexSearcher {
  searchEmbeddings(queries: Matrix, k: number, options?: { exact?: boolean }): Promise<{ id: string; score: number; text?: string }[][]>;
  /** Keyword and hybrid modes (SearchIndex has it): the query texts, and their embeddings where the mode needs them. */
  searchEncoded?(queries: readonly string[], embeddings: Matrix | undefined, k: number, options?: { exact?: boolean; mode?: SearchMode }): Promise<{ id: string; score: number; text?: string }[][]>;
  /** Live documents (SearchIndex and OpenSearchIndex have it), reported as ModelEvaluation.indexDocuments. */
  readonly count?: number;
  /** The index's recorded prompts (SearchIndex and OpenSearchIndex have them): queries take its query prompt. */
  readonly prompts?: { query: string };
}

export interface EvaluateModelOptions {
  /**
   * Full retrieval: search this index instead of encoding the task's corpus. By default a task with an `index`
   * folder opens it with the model (which must be the one the index was built with).
   */
  index?: IndexSearcher;
  /** With an index: scan every vector even when it has an HNSW graph. */
  exact?: boolean;
  /** With an index: 'vector' (default), 'keyword' (BM25) or 'hybrid' (both, reciprocal rank fusion). */
  mode?: SearchMode;
  /**
   * Full retrieval over the task's corpus: cut each document into windows (RetrieveOptions.windows) and rank
   * documents by their best window. An index built with --chunk does this by itself.
   */
  windows?: (text: string, id: string) => string[];
  /** Texts per forward pass (default 32, as sentence-transformers). */
  batchSize?: number;
  /**
   * Full retrieval: hits per query (default 1000). Re-ranking: only each list's first `depth` candidates (in
   * the order given) are re-scored (default: all of them).
   */
  depth?: number;
  /** Texts encoded per call (default 50000, the sentence-transformers evaluator's corpus chunk). */
  corpusChunkSize?: number;
  /** trec_eval measures (default DEFAULT_TREC_MEASURES). */
  trecMeasures?: EvaluateOptions['trecMeasures'];
  /** Sees every warning as it happens; all of them are also counted in the report's `warnings`. */
  onWarning?: WarningHandler;
  /** Texts encoded so far per side, after every batch of a model that reports them (SentenceTransformer does). */
  onProgress?: (p: { phase: 'queries' | 'documents'; done: number; total: number }) => void;
}

export interface EvalTimings {
  queries: number;
  documents: number;
  /** Seconds spent inside the model's encode calls, per side. */
  encodeQueriesSeconds: number;
  encodeDocumentsSeconds: number;
  /** Everything else after the texts were read: scoring, search or sorting, and the metrics. */
  otherSeconds: number;
  totalSeconds: number;
}

export interface ModelEvaluation {
  /** The ranking the model produced (write it with writeTrecRun). */
  run: Run;
  report: EvalReport;
  timings: EvalTimings;
  /** Full retrieval through an index: the texts of the documents the run names, as the index returned them. */
  texts?: Map<string, string>;
  /** Full retrieval through an index: its live documents when it was searched (Searcher.count). */
  indexDocuments?: number;
}

/** Full retrieval through an index: encode the queries, take each one's `depth` best, in the index's order. */
async function searchIndex(
  model: EvalModel,
  task: RetrievalTask,
  encoder: { encodeQuery: (t: string[], prompt?: string) => Promise<Matrix> },
  options: EvaluateModelOptions,
  docTexts: Map<string, string>,
): Promise<{ run: Run; count: number | undefined }> {
  const depth = options.depth ?? 1000;
  if (!Number.isSafeInteger(depth) || depth < 1) throw new SemsearchError('INVALID_ARGUMENT', `depth must be a positive integer, got ${depth}`, { field: 'depth' });
  let index = options.index;
  let close: (() => Promise<void>) | undefined;
  if (index === undefined) {
    if (!(model instanceof SentenceTransformer)) {
      throw new SemsearchError('INVALID_ARGUMENT', 'a task with an index folder needs a loaded SentenceTransformer, or pass options.index', { field: 'index' });
    }
    // Loaded on demand: the index brings SQLite, which re-ranking and in-memory retrieval never need.
    const { openIndex } = await import('../store/search-index.js');
    const opened = await openIndex(task.index as string, { model });
    index = opened;
    close = () => opened.close();
  }
  try {
    const qids = [...task.queries.keys()];
    const texts = [...task.queries.values()];
    const mode = options.mode ?? 'vector';
    const exact = options.exact === true ? { exact: true } : {};
    // Queries match the documents the index holds: its recorded query prompt, whatever the model would pick.
    const queryPrompt = index.prompts?.query;
    let hits: { id: string; score: number; text?: string }[][];
    if (mode === 'vector') hits = await index.searchEmbeddings(await encoder.encodeQuery(texts, queryPrompt), depth, exact);
    else if (index.searchEncoded === undefined) {
      throw new SemsearchError('INVALID_ARGUMENT', `mode ${mode} needs an index that searches by text (a SearchIndex)`, { field: 'mode' });
    } else hits = await index.searchEncoded(texts, mode === 'keyword' ? undefined : await encoder.encodeQuery(texts, queryPrompt), depth, { ...exact, mode });
    const run: Run = new Map();
    qids.forEach((qid, i) => {
      const h = hits[i] ?? [];
      run.set(qid, { docids: h.map((x) => x.id), scores: h.map((x) => x.score) });
      for (const x of h) if (x.text !== undefined) docTexts.set(x.id, x.text);
    });
    return { run, count: index.count };
  } finally {
    await close?.();
  }
}

/** How many queries and documents evaluateModel will encode for this task (documents: none through an index). */
function textTotals(task: EvalTask, options: EvaluateModelOptions): { q: number; d: number | undefined } {
  if (task.mode === 'rerank') {
    const lists = [...task.candidates.values()].map((l) => (options.depth === undefined ? l.docids : l.docids.slice(0, options.depth)));
    const docs = new Set<string>();
    for (const l of lists) for (const d of l) if (task.passages.has(d)) docs.add(d);
    return { q: task.candidates.size, d: docs.size };
  }
  if (options.index !== undefined || task.index !== undefined) return { q: task.queries.size, d: undefined };
  return { q: task.queries.size, d: task.corpus.size };
}

function firstOf(run: Run, depth: number): Run {
  if (!Number.isSafeInteger(depth) || depth < 1) throw new SemsearchError('INVALID_ARGUMENT', `depth must be a positive integer, got ${depth}`, { field: 'depth' });
  return new Map([...run].map(([qid, l]) => [qid, { docids: l.docids.slice(0, depth), scores: l.scores.slice(0, depth) }]));
}

/**
 * Evaluate a bi-encoder on a task (loadEvalTask / datasetSpec): re-rank its candidates (rerankRun) or search
 * its corpus (retrieve, or a built index), then score the new ranking in both semantics (evaluateRun), restricted to the
 * task's queries. Encoding is timed apart from the rest.
 */
export async function evaluateModel(model: EvalModel, task: EvalTask, options: EvaluateModelOptions = {}): Promise<ModelEvaluation> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 32;
  let qSeconds = 0;
  let dSeconds = 0;
  let documents = 0;
  let queries = 0;
  // The texts each side will encode, so a progress line has a total (and an ETA) from the first batch on.
  const totals = textTotals(task, options);
  const timed = async (side: 'q' | 'd', texts: string[], f: (t: string[], o: EvalEncodeOptions) => Promise<Matrix>): Promise<Matrix> => {
    const t0 = performance.now();
    const before = side === 'q' ? queries : documents;
    const onProgress = options.onProgress;
    const enc: EvalEncodeOptions = {
      batchSize,
      ...(onProgress !== undefined
        ? {
            onProgress: (e: { done: number; total: number }) =>
              onProgress({ phase: side === 'q' ? 'queries' : 'documents', done: before + e.done, total: Math.max(totals[side] ?? 0, before + e.total) }),
          }
        : {}),
    };
    const m = await f(texts, enc);
    const s = (performance.now() - t0) / 1000;
    if (side === 'q') {
      qSeconds += s;
      queries += texts.length;
    } else {
      dSeconds += s;
      documents += texts.length;
    }
    return m;
  };
  const encoder = {
    encode: (t: string[]) => timed('d', t, (x, o) => model.encode(x, o)),
    encodeQuery: (t: string[], prompt?: string) =>
      timed('q', t, (x, o) => (prompt !== undefined ? model.encode(x, { ...o, prompt }) : model.encodeQuery ? model.encodeQuery(x, o) : model.encode(x, o))),
    encodeDocument: (t: string[]) => timed('d', t, (x, o) => (model.encodeDocument ? model.encodeDocument(x, o) : model.encode(x, o))),
    ...(model.similarity ? { similarity: (a: Matrix, b: Matrix) => (model.similarity as (a: Matrix, b: Matrix) => Matrix)(a, b) } : {}),
  };
  const chunk = options.corpusChunkSize ?? 50000;
  // Re-ranking's own warnings (documents without text) join the report's, so one list says what was skipped.
  const rerankWarnings = new WarningTally();
  const warn: WarningHandler = (w) => {
    rerankWarnings.add(w);
    options.onWarning?.(w);
  };
  let run: Run;
  let stRun: Run | undefined;
  let texts: Map<string, string> | undefined;
  let indexDocuments: number | undefined;
  if ((options.mode ?? 'vector') !== 'vector' && options.index === undefined && !('index' in task && task.index !== undefined)) {
    throw new SemsearchError('INVALID_ARGUMENT', `mode ${options.mode} searches a built index: give one (--index)`, { field: 'mode' });
  }
  if (task.mode === 'rerank') {
    const candidates = options.depth === undefined ? task.candidates : firstOf(task.candidates, options.depth);
    run = await rerankRun(encoder, candidates, {
      queries: task.queries,
      passages: task.passages,
      missingText: task.missingText,
      encodeChunk: chunk,
      onWarning: warn,
      ...(options.onProgress
        ? { onProgress: (p: { documentsEncoded: number; documents: number }) => options.onProgress?.({ phase: 'documents', done: p.documentsEncoded, total: p.documents }) }
        : {}),
    });
  } else if (options.index !== undefined || task.index !== undefined) {
    texts = new Map();
    ({ run, count: indexDocuments } = await searchIndex(model, task, encoder, options, texts));
  } else {
    const r = await retrieve(encoder, task.corpus, task.queries, {
      corpusChunkSize: chunk,
      ...(options.windows !== undefined ? { windows: options.windows } : {}),
      ...(options.depth !== undefined ? { depth: options.depth } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    run = r.run;
    stRun = r.evaluatorRun;
  }
  const report = evaluateRun(task.qrels, run, {
    relevanceLevel: task.relevanceLevel,
    queries: task.queries,
    ...(stRun !== undefined ? { stRun } : {}),
    ...(options.trecMeasures !== undefined ? { trecMeasures: options.trecMeasures } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  report.warnings.unshift(...rerankWarnings.list());
  const totalSeconds = (performance.now() - started) / 1000;
  return {
    run,
    report,
    ...(texts !== undefined ? { texts } : {}),
    ...(indexDocuments !== undefined ? { indexDocuments } : {}),
    timings: {
      queries,
      documents,
      encodeQueriesSeconds: qSeconds,
      encodeDocumentsSeconds: dSeconds,
      otherSeconds: totalSeconds - qSeconds - dSeconds,
      totalSeconds,
    },
  };
}
