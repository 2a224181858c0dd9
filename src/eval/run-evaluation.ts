import { basename, isAbsolute, relative } from 'node:path';
import { SemsearchError } from '../errors.js';
import { chunkingFor, documentRows, type ChunkSettings } from '../store/chunk-rows.js';
import { buildPrompts } from '../store/prompts.js';
import { readQueries } from '../corpus/queries.js';
import { WarningTally, type WarningCount } from '../corpus/warnings.js';
import { loadModel, type LoadModelByNameOptions } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { loadCrossEncoder, type CrossEncoder, type LoadCrossEncoderOptions } from '../encoder/cross-encoder.js';
import { crossRerankRun, DEFAULT_CROSS_DEPTH } from '../rerank/cross-rerank.js';
import type { Run } from '../rerank/ranked-list.js';
import type { Searcher } from '../store/searcher.js';
import type { SearchMode } from '../store/fusion.js';
import { evaluateModel, type ModelEvaluation } from './evaluate-model.js';
import { DEFAULT_RELEVANCE_LEVEL, readJudgments } from './judgments.js';
import { evaluateRun, reportToJson, type EvalReport, type ReportJson, type RelevanceNoteOptions } from './report.js';
import { readTrecRun } from './run.js';
import { loadEvalTask, type EvalTask, type EvalTaskSpec } from './tasks.js';

/**
 * One evaluation end to end, what `semsearch eval` does between parsing its flags and printing: read the task's
 * files, then one of
 * - score a run file as it is, no model (`run`);
 * - load the bi-encoder (`model`), re-rank the task's run or retrieve over its corpus or index, and score the ranking;
 * - and/or re-rank the first stage's top `crossDepth` per query with a cross-encoder (`crossEncoder`; without a
 *   `model` the task's own run is the first stage) and score that, beside the first stage's figures.
 */
export interface RunEvaluationOptions {
  /**
   * The task's files (loadEvalTask's spec). Scoring a `run` file reads only its queries (optional), qrels, their
   * formats and relevance level; the rest need a run to re-rank, a corpus or an index.
   */
  task: Partial<EvalTaskSpec> & Pick<EvalTaskSpec, 'qrels'>;
  /** Score this TREC run file as it is, with no model (as trec_eval does). */
  run?: string;
  /** The bi-encoder: a folder or hub name (loaded with `modelOptions`, disposed at the end), or a loaded model (left open). */
  model?: string | SentenceTransformer;
  modelOptions?: LoadModelByNameOptions;
  /** Full retrieval through this searcher (e.g. an OpenSearch index), opened with the loaded model and closed at the end. */
  openIndex?: (model: SentenceTransformer) => Promise<Searcher>;
  /** Full retrieval: hits per query (default 1000); re-ranking: candidates re-scored per query (default all). */
  depth?: number;
  batchSize?: number;
  /** With an index: scan every vector even when it has an HNSW graph. */
  exact?: boolean;
  /** With an index: vector (default), keyword or hybrid. */
  mode?: SearchMode;
  /**
   * Full retrieval over the task's corpus: cut each document longer than the model's window into token windows
   * (store/chunk-rows.ts, as `index --chunk`) and rank documents by their best window.
   */
  chunk?: boolean | ChunkSettings;
  /** The second stage: a cross-encoder (folder or hub name, loaded with `crossEncoderOptions` and disposed; or a loaded one, left open). */
  crossEncoder?: string | CrossEncoder;
  crossEncoderOptions?: LoadCrossEncoderOptions & Omit<LoadModelByNameOptions, 'variant'>;
  /** Candidates per query the cross-encoder re-scores (default 100). */
  crossDepth?: number;
  /** Every query's values in the report too (default false). */
  perQuery?: boolean;
  /** How the report tells the reader to ask for another relevance level (the CLI: `pass --relevance-level n`). */
  relevanceNote?: RelevanceNoteOptions;
  /** Where the relevance level came from, as the report records it (default: 'dataset' when the task gives one, else 'default'). */
  relevanceLevelFrom?: string;
  /** Progress of the long stages: encoding (queries, documents) and the cross-encoder's pairs. */
  onProgress?: (p: { stage: 'encoding'; phase: 'queries' | 'documents'; done: number; total: number } | { stage: 'cross-encoder'; done: number; total: number }) => void;
  /** Called when a stage's progress is over (once its work has succeeded). */
  onStageDone?: (stage: 'encoding' | 'cross-encoder') => void;
  /** Warnings from loading a model (e.g. a cross-encoder's), one line each. */
  onModelWarning?: (message: string) => void;
}

/** Which ONNX file encoded the texts and why: what was asked for and, for int8, the variant picked for this CPU. */
export interface OnnxUsed {
  /** Relative to the model folder when it lies there (a built graph lives in the build cache). */
  file: string;
  requested: string;
  int8?: { variant: string; isa: string; fallback?: string };
  warning?: string;
}

/** What runEvaluation did: the JSON report `semsearch eval --json` prints, and the parts its table is drawn from. */
export interface Evaluation {
  /** 'run': a run file scored as it is; 'model': a bi-encoder's ranking; 'cross-encoder': a cross-encoder's second stage. */
  kind: 'run' | 'model' | 'cross-encoder';
  /**
   * The report as `semsearch eval --json` prints it (the CLI adds `runFile` where it wrote the run). Its shape follows
   * `kind`: `run`, `qrels`, ... for a run scored; `model`, `onnx`, `task`, `timings`, ... for a model; `firstStage`,
   * `crossEncoder`, `depth`, `firstStageSummary`, ... for a cross-encoder.
   */
  json: Record<string, unknown>;
  /** The ranking scored: the run file's, the model's, or the cross-encoder's (write it with writeTrecRun). */
  run: Run;
  report: EvalReport;
  relevanceLevel: number;
  relevanceLevelFrom: string;
  /** Warnings from reading the input files and re-ranking, counted. */
  warnings: WarningCount[];
  /** The task read (not for a run scored as it is). */
  task?: EvalTask;
  /** The bi-encoder's evaluation, and which ONNX file it ran. */
  modelEvaluation?: ModelEvaluation;
  onnx?: OnnxUsed;
  /** The cross-encoder stage: the first stage it re-ranked, and its own figures. */
  firstStage?: { label: string; report: EvalReport };
  crossEncoder?: { name: string; depth: number; pairs: number; seconds: number };
}

/** The MRR@10 and NDCG@10 of a report, as the summaries show them. */
function summaryOf(r: EvalReport): { 'MRR@10': number | undefined; 'NDCG@10': number | undefined } {
  return { 'MRR@10': r.st.summary['mrr@10'], 'NDCG@10': r.trec.summary['ndcg_cut_10'] };
}

function warningsJson(list: WarningCount[]): { code: string; count: number; example: string }[] {
  return list.map((w) => ({ code: w.code, count: w.count, example: w.example.message }));
}

function onnxOf(model: SentenceTransformer): OnnxUsed {
  const c = model.onnxChoice;
  const rel = relative(model.config.dir, model.onnxFile);
  return {
    file: rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split('\\').join('/') : model.onnxFile,
    requested: c.requested,
    ...(c.int8 !== undefined ? { int8: { variant: c.int8.variant, isa: c.int8.isa, ...(c.int8.fallback !== undefined ? { fallback: c.int8.fallback } : {}) } } : {}),
    ...(c.warning !== undefined ? { warning: c.warning } : {}),
  };
}

/** A model's name for the reports: the name given, else its folder. */
const nameOf = (m: string | SentenceTransformer | CrossEncoder): string => (typeof m === 'string' ? m : m.config.dir);

/** A run file scored as it is against the judgments: no model loaded (what trec_eval and ir_measures do). */
async function scoreRunFile(options: RunEvaluationOptions, runPath: string, from: string): Promise<Evaluation> {
  const spec = options.task;
  const relevanceLevel = spec.relevanceLevel ?? DEFAULT_RELEVANCE_LEVEL;
  const tally = new WarningTally();
  const queries = spec.queries !== undefined ? await readQueries(spec.queries, { format: spec.queriesFormat ?? 'auto', onWarning: tally.add }) : undefined;
  const qrels = await readJudgments(spec.qrels, spec.qrelsFormat ?? 'auto', tally.add);
  const run = await readTrecRun(runPath, queries !== undefined ? { queries } : {});
  const report = evaluateRun(qrels, run, { relevanceLevel, ...(queries !== undefined ? { queries } : {}) });
  const warnings = tally.list();
  const json = {
    run: runPath,
    qrels: spec.qrels,
    relevanceLevel,
    relevanceLevelFrom: from,
    summary: summaryOf(report),
    report: reportToJson(report, { perQuery: options.perQuery === true, ...options.relevanceNote }),
    inputWarnings: warningsJson(warnings),
  };
  return { kind: 'run', json, run, report, relevanceLevel, relevanceLevelFrom: from, warnings };
}

/** The cross-encoder stage: re-rank the first stage's top `crossDepth` per query, score it, report it beside the first. */
async function crossStage(
  options: RunEvaluationOptions,
  ce: string | CrossEncoder,
  task: EvalTask,
  first: { label: string; run: Run; texts: ReadonlyMap<string, string>; report: EvalReport },
  from: string,
  tally: WarningTally,
  extra: Pick<Evaluation, 'modelEvaluation' | 'onnx'>,
): Promise<Evaluation> {
  const depth = options.crossDepth ?? DEFAULT_CROSS_DEPTH;
  const t0 = performance.now();
  let loaded: CrossEncoder | undefined;
  let run: Run;
  try {
    const scorer = typeof ce === 'string' ? (loaded = await loadCrossEncoder(ce, { ...options.crossEncoderOptions, ...(options.onModelWarning !== undefined ? { onWarning: options.onModelWarning } : {}) })) : ce;
    run = await crossRerankRun(scorer, first.run, {
      queries: task.queries,
      text: (d) => first.texts.get(d),
      depth,
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      missingText: task.mode === 'rerank' ? task.missingText : 'error',
      onWarning: (w) => tally.add(w),
      onProgress: (p) => options.onProgress?.({ stage: 'cross-encoder', done: p.done, total: p.total }),
    });
    options.onStageDone?.('cross-encoder');
  } finally {
    await loaded?.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  let pairs = 0;
  for (const l of run.values()) pairs += l.docids.length;
  const report = evaluateRun(task.qrels, run, { relevanceLevel: task.relevanceLevel, queries: task.queries });
  const warnings = tally.list();
  const name = nameOf(ce);
  const json = {
    firstStage: first.label,
    crossEncoder: name,
    depth,
    task: { name: task.name, mode: task.mode, queries: task.queries.size, relevanceLevel: task.relevanceLevel, relevanceLevelFrom: from },
    firstStageSummary: summaryOf(first.report),
    summary: summaryOf(report),
    report: reportToJson(report, { perQuery: options.perQuery === true, ...options.relevanceNote }),
    inputWarnings: warningsJson(warnings),
    timings: { pairs, seconds, pairsPerSecond: seconds > 0 ? pairs / seconds : null },
  };
  return {
    kind: 'cross-encoder',
    json,
    run,
    report,
    relevanceLevel: task.relevanceLevel,
    relevanceLevelFrom: from,
    warnings,
    task,
    ...extra,
    firstStage: { label: first.label, report: first.report },
    crossEncoder: { name, depth, pairs, seconds },
  };
}

/**
 * Evaluate as `semsearch eval` does (see RunEvaluationOptions): returns the report it prints with --json, the
 * ranking, and the figures its table shows. Models loaded here by name are disposed before it returns.
 */
export async function runEvaluation(options: RunEvaluationOptions): Promise<Evaluation> {
  const spec = options.task;
  const from = options.relevanceLevelFrom ?? (spec.relevanceLevel !== undefined ? 'dataset' : 'default');
  if (options.run !== undefined) {
    for (const name of ['model', 'crossEncoder'] as const) {
      if (options[name] !== undefined) throw new SemsearchError('INVALID_ARGUMENT', `a run scored as it is takes no model: drop ${name}`, { field: name });
    }
    return scoreRunFile(options, options.run, from);
  }
  const model = options.model;
  if (model === undefined && options.crossEncoder === undefined) {
    throw new SemsearchError('INVALID_ARGUMENT', 'runEvaluation needs a model, a cross-encoder, or a run file to score as it is', { field: 'model' });
  }
  const tally = new WarningTally();
  const task = await loadEvalTask(spec as EvalTaskSpec, (w) => tally.add(w));
  if (model === undefined) {
    // A cross-encoder alone re-ranks the task's own run.
    if (task.mode !== 'rerank') {
      throw new SemsearchError('INVALID_ARGUMENT', 'a cross-encoder without a bi-encoder re-ranks a first-stage run: give the task a run to re-rank, or a model to retrieve first', { field: 'crossEncoder' });
    }
    const first = evaluateRun(task.qrels, task.candidates, { relevanceLevel: task.relevanceLevel, queries: task.queries });
    return crossStage(options, options.crossEncoder as string | CrossEncoder, task, { label: basename(spec.rerank ?? 'run'), run: task.candidates, texts: task.passages, report: first }, from, tally, {});
  }

  const st = typeof model === 'string' ? await loadModel(model, options.modelOptions) : model;
  let ev: ModelEvaluation;
  const onnx = onnxOf(st);
  let remote: Searcher | undefined;
  try {
    // A local index is opened by the evaluator itself (task.index); another searcher here, with the same model.
    if (options.openIndex !== undefined) remote = await options.openIndex(st);
    let windows: ((text: string, id: string) => string[]) | undefined;
    if (options.chunk !== undefined && options.chunk !== false) {
      if (task.mode !== 'retrieve' || task.index !== undefined || remote !== undefined) {
        throw new SemsearchError('INVALID_ARGUMENT', 'chunk cuts the documents of full retrieval over a corpus; an index built with --chunk searches its windows by itself', { field: 'chunk' });
      }
      const chunking = chunkingFor(st, options.chunk === true ? {} : options.chunk);
      // Windows leave room for the prompt encodeDocument puts before each of them.
      const prompt = buildPrompts(st).document;
      windows = (text, id) => documentRows(st, { id, text }, chunking, prompt).map((r) => r.input);
    }
    ev = await evaluateModel(st, task, {
      ...(windows !== undefined ? { windows } : {}),
      ...(remote !== undefined ? { index: remote } : {}),
      ...(options.depth !== undefined ? { depth: options.depth } : {}),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.exact === true ? { exact: true } : {}),
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
      onProgress: (p) => options.onProgress?.({ stage: 'encoding', phase: p.phase, done: p.done, total: p.total }),
    });
    options.onStageDone?.('encoding');
  } finally {
    await remote?.close();
    if (typeof model === 'string') await st.dispose();
  }
  const modelName = nameOf(model);
  if (options.crossEncoder !== undefined) {
    const texts = task.mode === 'rerank' ? task.passages : task.index !== undefined || remote !== undefined ? (ev.texts ?? new Map<string, string>()) : task.corpus;
    const label = basename(modelName.replace(/[\\/]+$/, ''));
    return crossStage(options, options.crossEncoder, task, { label, run: ev.run, texts, report: ev.report }, from, tally, { modelEvaluation: ev, onnx });
  }
  const warnings = tally.list();
  const json = {
    model: modelName,
    onnx,
    task: {
      name: task.name,
      mode: task.mode,
      queries: task.queries.size,
      // Through an index (a local folder or another searcher): its live documents; else the passages read.
      documents: ev.indexDocuments ?? (task.mode === 'rerank' ? task.passages.size : task.corpus.size),
      relevanceLevel: task.relevanceLevel,
      relevanceLevelFrom: from,
      ...(task.mode === 'retrieve' && task.index !== undefined ? { index: task.index } : {}),
    },
    summary: summaryOf(ev.report),
    report: reportToJson(ev.report, { perQuery: options.perQuery === true, ...options.relevanceNote }) satisfies ReportJson,
    inputWarnings: warningsJson(warnings),
    timings: ev.timings,
  };
  return { kind: 'model', json, run: ev.run, report: ev.report, relevanceLevel: task.relevanceLevel, relevanceLevelFrom: from, warnings, task, modelEvaluation: ev, onnx };
}
