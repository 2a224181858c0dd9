import { basename } from 'node:path';
import { loadModel } from '../../encoder/load-model.js';
import { SemsearchError } from '../../errors.js';
import { evaluateModel, type ModelEvaluation } from '../../eval/evaluate-model.js';
import { formatReportTable, reportToJson } from '../../eval/report.js';
import { writeTrecRun } from '../../eval/run.js';
import {
  datasetSpec,
  defaultDataDir,
  listDatasets,
  loadEvalTask,
  QRELS_FORMATS,
  QUERIES_FORMATS,
  type EvalTask,
  type EvalTaskSpec,
  type QrelsFormat,
  type QueriesFormat,
} from '../../eval/tasks.js';
import { WarningTally } from '../../corpus/warnings.js';
import { helpText, parseArgs, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { createProgress, type ProgressOutput } from '../progress.js';

const FLAGS: FlagSpec = {
  model: { type: 'string', short: 'm', description: 'model folder or hub name (required)' },
  variant: { type: 'string', description: "ONNX variant: 'int8' for the quantized file accurate on this CPU, or a hub variant such as O2 or quint8_avx2" },
  threads: { type: 'number', description: 'ONNX Runtime threads (default: one per core)' },
  dataset: { type: 'string', short: 'd', description: 'a named dataset in the data folder (--list-datasets); other flags override its files' },
  'data-dir': { type: 'string', description: 'where the named datasets are (default $SEMSEARCH_DATA, else ../shared/data beside the repository)' },
  'list-datasets': { type: 'boolean', description: 'list the dataset names and exit' },
  rerank: { type: 'string', description: 're-rank this TREC run file or candidate-list JSON' },
  corpus: { type: 'string', description: 'passage file(s), comma-separated: collection.tsv, corpus.jsonl, SMART docs, candidate JSON' },
  index: { type: 'string', description: 'full retrieval over an index built by `semsearch index` with the same model, instead of --corpus' },
  exact: { type: 'boolean', description: 'with --index: scan every vector even when the index has an HNSW graph' },
  queries: { type: 'string', description: 'queries: TREC topics (tsv or <top>), BEIR queries.jsonl, SMART queries' },
  topics: { type: 'string', description: 'same as --queries' },
  'queries-format': { type: 'string', description: `${QUERIES_FORMATS.join(', ')} (default auto)` },
  qrels: { type: 'string', description: 'relevance judgments (TREC qrels, BEIR qrels tsv, cranqrel, CACM qrels.text)' },
  'qrels-format': { type: 'string', description: `${QRELS_FORMATS.join(', ')} (default auto)` },
  'relevance-level': { type: 'number', description: 'grade counted relevant by the binary measures (default 2 for TREC DL qrels, else 1)' },
  depth: { type: 'number', short: 'k', description: 'retrieval: hits per query (default 1000); re-ranking: candidates re-scored per query (default all)' },
  'batch-size': { type: 'number', description: 'texts per forward pass (default 32)' },
  'missing-text': { type: 'string', description: 're-ranking a run file: error (default) or drop documents without text' },
  'run-out': { type: 'string', short: 'o', description: 'write the new ranking here as a TREC run file' },
  tag: { type: 'string', description: 'run tag written in the run file (default semsearch)' },
  json: { type: 'boolean', description: 'print the report as JSON instead of tables' },
  'per-query': { type: 'boolean', description: 'with --json: every query\'s values too' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

const USAGE = `usage: semsearch eval -m <model> (--dataset <name> | --rerank <run|candidates.json> | --corpus <files> | --index <dir>) [--queries <file>] [--qrels <file>]

Re-rank a first-stage run, or search a corpus, with a bi-encoder and score the new ranking in trec_eval's and
sentence-transformers' semantics. Example (the TREC DL 2019 BM25 re-ranking table):
  semsearch eval -m sentence-transformers/all-MiniLM-L6-v2 --dataset dl19-bm25-rerank --run-out dl19.run`;

function str(flags: Record<string, unknown>, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new SemsearchError('INVALID_ARGUMENT', `${flag} must be one of ${allowed.join(', ')}, got "${value}"`, { field: flag });
  }
  return value as T;
}

function positiveInt(flags: Record<string, unknown>, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new SemsearchError('INVALID_ARGUMENT', `--${name} must be a positive integer, got ${String(v)}`, { field: `--${name}` });
  }
  return v;
}

/** The task spec from --dataset and the file flags (a file flag replaces the dataset's file). */
function taskSpec(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): EvalTaskSpec {
  const dataset = str(flags, 'dataset');
  const base: Partial<EvalTaskSpec> = dataset !== undefined ? datasetSpec(dataset, str(flags, 'data-dir') ?? defaultDataDir(env)) : {};
  const spec: Partial<EvalTaskSpec> = { ...base };
  const rerank = str(flags, 'rerank');
  const corpus = str(flags, 'corpus');
  const index = str(flags, 'index');
  if (index !== undefined) {
    spec.index = index;
    // The index replaces the dataset's corpus (its queries and qrels stay).
    if (rerank === undefined) delete spec.rerank;
    if (corpus === undefined) delete spec.corpus;
  }
  const queries = str(flags, 'queries') ?? str(flags, 'topics');
  const qrels = str(flags, 'qrels');
  if (rerank !== undefined) {
    spec.rerank = rerank;
    // A run given on the command line replaces the dataset's; its corpus only if one is given too.
    if (corpus === undefined) delete spec.corpus;
  } else if (corpus !== undefined) delete spec.rerank;
  if (corpus !== undefined) spec.corpus = corpus.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (queries !== undefined) {
    spec.queries = queries;
    delete spec.queriesFormat;
  }
  if (qrels !== undefined) {
    spec.qrels = qrels;
    delete spec.qrelsFormat;
    if (flags['relevance-level'] === undefined) delete spec.relevanceLevel;
  }
  const qf = oneOf<QueriesFormat>(str(flags, 'queries-format'), QUERIES_FORMATS, '--queries-format');
  if (qf !== undefined) spec.queriesFormat = qf;
  const rf = oneOf<QrelsFormat>(str(flags, 'qrels-format'), QRELS_FORMATS, '--qrels-format');
  if (rf !== undefined) spec.qrelsFormat = rf;
  const level = flags['relevance-level'];
  if (typeof level === 'number') spec.relevanceLevel = level;
  const missing = oneOf<'error' | 'drop'>(str(flags, 'missing-text'), ['error', 'drop'], '--missing-text');
  if (missing !== undefined) spec.missingText = missing;
  if (spec.rerank === undefined && spec.corpus === undefined && spec.index === undefined) {
    throw new SemsearchError('INVALID_ARGUMENT', 'eval needs --dataset, --rerank <run or candidates JSON>, --corpus <files> or --index <dir>', { field: '--dataset' });
  }
  if (spec.qrels === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'eval needs --qrels <file> (or --dataset)', { field: '--qrels' });
  return spec as EvalTaskSpec;
}

function describe(task: EvalTask): string {
  if (task.mode === 'rerank') {
    let n = 0;
    for (const l of task.candidates.values()) n += l.docids.length;
    return `re-ranking ${task.candidates.size} queries' ${n} candidates`;
  }
  if (task.index !== undefined) return `full retrieval: ${task.queries.size} queries over the index ${task.index}`;
  return `full retrieval: ${task.queries.size} queries over ${task.corpus.size} passages`;
}

const rate = (n: number, s: number): string => (s > 0 ? String(Math.round(n / s)) : '-');

/** The seed's table row (MRR@10, NDCG@10, encoding speed) for this model and data. */
function seedTable(modelName: string, task: EvalTask, ev: ModelEvaluation): string {
  const st = ev.report.st.summary;
  const trec = ev.report.trec.summary;
  const cols: [string, string][] = [
    ['Model', modelName],
    [`NDCG@10 graded (${task.name})`, trec['ndcg_cut_10'] !== undefined ? (trec['ndcg_cut_10'] as number).toFixed(4) : '-'],
    ['MRR@10', st['mrr@10'] !== undefined ? (st['mrr@10'] as number).toFixed(4) : '-'],
    ['Queries/s (this CPU)', rate(ev.timings.queries, ev.timings.encodeQueriesSeconds)],
    ['Docs/s (this CPU)', rate(ev.timings.documents, ev.timings.encodeDocumentsSeconds)],
  ];
  const w = cols.map(([h, v]) => Math.max(h.length, v.length));
  const row = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(w[i] as number)).join(' | ')} |`;
  return [
    row(cols.map(([h]) => h)),
    `|${w.map((x, i) => (i === 0 ? '-'.repeat(x + 2) : `${'-'.repeat(x + 1)}:`)).join('|')}|`,
    row(cols.map(([, v]) => v)),
    '',
    `NDCG@10: trec_eval ndcg_cut_10 with graded gains. MRR@10: sentence-transformers' InformationRetrievalEvaluator, relevant = grade >= ${ev.report.relevanceLevel}.`,
  ].join('\n');
}

/** `semsearch eval`: re-rank a run or search a corpus with a model, print the metrics, write the run. */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a model: re-rank a run or search a corpus, score it (MRR@10, NDCG@10, ...), write the run',
  async run(argv, io) {
    const { positionals, flags } = parseArgs(argv, FLAGS);
    if (flags['help'] === true) {
      io.stdout.write(helpText(USAGE, FLAGS));
      return 0;
    }
    if (flags['list-datasets'] === true) {
      const list = listDatasets();
      const w = Math.max(...list.map((d) => d.name.length));
      io.stdout.write(`${list.map((d) => `${d.name.padEnd(w)}  ${d.description}`).join('\n')}\n\ndata folder: ${str(flags, 'data-dir') ?? defaultDataDir(io.env)}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new SemsearchError('INVALID_ARGUMENT', `eval takes no positional arguments, got "${positionals[0]}"`, { field: positionals[0] as string });
    const modelName = str(flags, 'model');
    if (modelName === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'eval needs --model <folder or hub name>', { field: '--model' });
    const spec = taskSpec(flags, io.env);
    const depth = positiveInt(flags, 'depth');
    const batchSize = positiveInt(flags, 'batch-size');
    const threads = positiveInt(flags, 'threads');
    const tag = str(flags, 'tag');
    const runOut = str(flags, 'run-out');

    const tally = new WarningTally();
    const task = await loadEvalTask(spec, (w) => tally.add(w));
    const variant = str(flags, 'variant');
    const model = await loadModel(modelName, { ...(variant !== undefined ? { variant } : {}), ...(threads !== undefined ? { threads } : {}) });
    let ev: ModelEvaluation;
    const progress = createProgress(io.stderr as ProgressOutput, 'texts');
    try {
      ev = await evaluateModel(model, task, {
        ...(depth !== undefined ? { depth } : {}),
        ...(batchSize !== undefined ? { batchSize } : {}),
        ...(flags['exact'] === true ? { exact: true } : {}),
        onProgress: (p) => progress.update(`encoding ${p.phase}`, p.done, p.total),
      });
      progress.finish();
    } finally {
      await model.dispose();
    }
    if (runOut !== undefined) await writeTrecRun(runOut, ev.run, tag !== undefined ? { tag } : {});
    const label = basename(modelName.replace(/[\\/]+$/, ''));
    // Warnings from reading the files; the report lists those of re-ranking and scoring.
    const inputWarnings = tally.list();
    if (flags['json'] === true) {
      const out = {
        model: modelName,
        task: {
          name: task.name,
          mode: task.mode,
          queries: task.queries.size,
          documents: task.mode === 'rerank' ? task.passages.size : task.corpus.size,
          relevanceLevel: task.relevanceLevel,
          ...(task.mode === 'retrieve' && task.index !== undefined ? { index: task.index } : {}),
        },
        summary: { 'MRR@10': ev.report.st.summary['mrr@10'], 'NDCG@10': ev.report.trec.summary['ndcg_cut_10'] },
        report: reportToJson(ev.report, { perQuery: flags['per-query'] === true }),
        inputWarnings: inputWarnings.map((w) => ({ code: w.code, count: w.count, example: w.example.message })),
        timings: ev.timings,
        ...(runOut !== undefined ? { runFile: runOut } : {}),
      };
      io.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `semsearch eval: ${label} on ${task.name} (${describe(task)})`,
      '',
      seedTable(label, task, ev),
      '',
      formatReportTable(ev.report).trimEnd(),
    ];
    if (inputWarnings.length > 0) {
      lines.push('', 'Input warnings:');
      for (const w of inputWarnings) lines.push(`  ${w.code} x${w.count}: ${w.example.message}`);
    }
    const t = ev.timings;
    lines.push(
      '',
      `Time: ${t.totalSeconds.toFixed(1)} s (encoding ${t.queries} queries ${t.encodeQueriesSeconds.toFixed(1)} s, ${t.documents} passages ${t.encodeDocumentsSeconds.toFixed(1)} s; scoring and metrics ${t.otherSeconds.toFixed(1)} s)`,
    );
    if (runOut !== undefined) lines.push(`Run written to ${runOut}`);
    io.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
