import { SEARCH_MODES } from '../../store/fusion.js';
import { basename, relative, isAbsolute } from 'node:path';
import { readQueries } from '../../corpus/queries.js';
import { QUERIES_FORMATS } from '../../corpus/formats.js';
import { WarningTally } from '../../corpus/warnings.js';
import { loadModel } from '../../encoder/load-model.js';
import type { SentenceTransformer } from '../../encoder/sentence-transformer.js';
import { loadCrossEncoder, type CrossEncoder } from '../../encoder/cross-encoder.js';
import { crossRerankRun, DEFAULT_CROSS_DEPTH } from '../../eval/cross-rerank.js';
import type { Run } from '../../eval/run.js';
import { SemsearchError } from '../../errors.js';
import { evaluateModel, type ModelEvaluation } from '../../eval/evaluate-model.js';
import { DEFAULT_RELEVANCE_LEVEL, QRELS_FORMATS, readJudgments } from '../../eval/judgments.js';
import { evaluateRun, formatReportTable, reportToJson, type RelevanceNoteOptions } from '../../eval/report.js';
import { readTrecRun, writeTrecRun } from '../../eval/run.js';
import { loadEvalTask, type EvalTask, type EvalTaskSpec } from '../../eval/tasks.js';
import { defineCommand, type CliIO, type OptionValues } from '../command.js';
import { datasetSpec, listDatasets, resolveDataDir } from '../datasets.js';
import { BACKEND_OPTIONS, BATCH_SIZE_OPTION, CROSS_ENCODER_OPTION, DEVICE_OPTION, EXACT_OPTION, MODEL_OPTION, OUT_OPTION, THREADS_OPTION, VARIANT_OPTION, deviceOption } from '../options.js';
import { checkBackendValues, isRemote, openSearcher } from '../backend.js';
import type { Searcher } from '../../store/searcher.js';
import { checkOutputPath, writeAtomically } from '../output.js';
import { commandProgress } from '../progress.js';

const OPTIONS = {
  model: { ...MODEL_OPTION, description: 'model folder or hub name (required, except with --run)' },
  variant: VARIANT_OPTION,
  threads: THREADS_OPTION,
  device: DEVICE_OPTION,
  dataset: { type: 'string', short: 'd', description: 'a named dataset in the data folder (--list-datasets); other flags override its files' },
  'data-dir': { type: 'string', description: 'the folder the named datasets are in (default $SEMSEARCH_DATA)' },
  'list-datasets': { type: 'boolean', description: 'list the dataset names and exit' },
  run: { type: 'string', description: 'score this TREC run file as it is, with no model (as trec_eval does)' },
  candidates: { type: 'string', description: 're-rank this first-stage TREC run file or candidate-list JSON with the model', deprecated: ['rerank'] },
  'cross-encoder': {
    ...CROSS_ENCODER_OPTION,
    description: "then re-rank each query's top --rerank-depth with this cross-encoder (folder or hub name); without -m, the --candidates run's own top",
    deprecated: ['rerank-with'],
  },
  'rerank-depth': { type: 'number', description: 'candidates per query the cross-encoder re-scores (default 100)', positiveInteger: true },
  corpus: { type: 'string', description: 'passage files or folders, comma-separated, in any corpus format (semsearch index --help lists them)' },
  index: { type: 'string', description: 'full retrieval over an index built by `semsearch index` with the same model, instead of --corpus' },
  ...BACKEND_OPTIONS,
  exact: { ...EXACT_OPTION, description: 'with --index: scan every vector even when the index has an HNSW graph' },
  mode: { type: 'string', description: 'with --index: vector (default), keyword (BM25) or hybrid (both, rank fusion)', choices: SEARCH_MODES },
  queries: { type: 'string', description: 'queries: TREC topics (tsv or <top>), BEIR queries.jsonl, SMART queries' },
  topics: { type: 'string', description: 'same as --queries' },
  'queries-format': { type: 'string', description: 'the queries file format (default auto)', choices: ['auto', ...QUERIES_FORMATS] },
  qrels: { type: 'string', description: 'relevance judgments (TREC qrels, BEIR qrels tsv, cranqrel, SMART qrels such as CACM qrels.text)' },
  'qrels-format': { type: 'string', description: 'the qrels file format (default auto)', choices: QRELS_FORMATS },
  'relevance-level': { type: 'number', description: "grade counted relevant by the binary measures (default: the dataset's, else 1 as trec_eval; TREC DL uses 2)" },
  depth: { type: 'number', description: 'retrieval: hits per query (default 1000); re-ranking: candidates re-scored per query (default all)', positiveInteger: true },
  'batch-size': BATCH_SIZE_OPTION,
  'missing-text': { type: 'string', description: 're-ranking a run file: error (default) or drop documents without text', choices: ['error', 'drop'] },
  out: {
    ...OUT_OPTION,
    description: 'write the new ranking here as a TREC run file (checked before anything is read: not a folder, not an input file; written to a temporary file renamed into place)',
    deprecated: ['run-out'],
  },
  tag: { type: 'string', description: 'run tag written in the run file (default semsearch)' },
  'per-query': { type: 'boolean', description: "with --json: every query's values too" },
} as const;

type EvalValues = OptionValues<typeof OPTIONS>;

const USAGE = `usage: semsearch eval -m <model> (--dataset <name> | --candidates <run|candidates.json> | --corpus <files> | --index <dir>) [--queries <file>] [--qrels <file>] [--cross-encoder <model>] [-o <run file>]
       semsearch eval --cross-encoder <model> (--dataset <name> | --candidates <run|candidates.json>) [--rerank-depth 100]
       semsearch eval --run <run file> --qrels <file>

Re-rank a first-stage run, or search a corpus, with a bi-encoder and score the new ranking in trec_eval's and
sentence-transformers' semantics; or score an existing run with no model. Example (the TREC DL 2019 BM25
re-ranking table):
  semsearch eval -m sentence-transformers/all-MiniLM-L6-v2 --dataset dl19-bm25-rerank --data-dir /path/to/data -o dl19.run`;

/** Where the relevance level came from: the flag, the named dataset, or trec_eval's default (never a file's name). */
type LevelSource = '--relevance-level' | 'dataset' | 'default';

/** How the reports tell a user to ask for another level. */
const LEVEL_FLAG: RelevanceNoteOptions = { levelSetting: (n) => `pass --relevance-level ${n}` };

function levelSource(values: EvalValues, spec: Partial<EvalTaskSpec>): LevelSource {
  if (values['relevance-level'] !== undefined) return '--relevance-level';
  return spec.relevanceLevel !== undefined ? 'dataset' : 'default';
}

/** "grade >= 2, from the dataset" for the table's first line. */
function levelWords(level: number, source: LevelSource): string {
  const from = source === 'default' ? "trec_eval's default" : source === 'dataset' ? 'the dataset' : '--relevance-level';
  return `relevant = grade >= ${level}, from ${from}`;
}

/**
 * The dataset's files and settings (--dataset) with the query and judgment flags laid over them: a file flag
 * replaces the dataset's file, and with it the format and level the dataset gave that file. Without a dataset's
 * level or the flag, the level is trec_eval's default (1), whatever the judgments file is called.
 */
function judgedFiles(values: EvalValues, env: NodeJS.ProcessEnv): Partial<EvalTaskSpec> {
  const base: Partial<EvalTaskSpec> = values.dataset !== undefined ? datasetSpec(values.dataset, resolveDataDir(values['data-dir'], env)) : {};
  const spec: Partial<EvalTaskSpec> = { ...base };
  const queries = values.queries ?? values.topics;
  if (queries !== undefined) {
    spec.queries = queries;
    delete spec.queriesFormat;
  }
  if (values.qrels !== undefined) {
    spec.qrels = values.qrels;
    delete spec.qrelsFormat;
    delete spec.relevanceLevel;
  }
  if (values['queries-format'] !== undefined) spec.queriesFormat = values['queries-format'];
  if (values['qrels-format'] !== undefined) spec.qrelsFormat = values['qrels-format'];
  if (values['relevance-level'] !== undefined) spec.relevanceLevel = values['relevance-level'];
  return spec;
}

/** The task spec from --dataset and the file flags (a file flag replaces the dataset's file). */
function taskSpec(values: EvalValues, env: NodeJS.ProcessEnv): EvalTaskSpec {
  const spec = judgedFiles(values, env);
  const { candidates: rerank, corpus } = values;
  checkBackendValues(values);
  // An OpenSearch index stands where the folder would: the task names it by address.
  const index = isRemote(values) ? `${values.url ?? ''}/${values['index-name'] ?? ''}` : values.index;
  if (isRemote(values) && values.index !== undefined) throw new SemsearchError('INVALID_ARGUMENT', 'give --index <dir> or --backend opensearch, not both', { field: '--index' });
  if (index !== undefined) {
    spec.index = index;
    // The index replaces the dataset's corpus (its queries and qrels stay).
    if (rerank === undefined) delete spec.rerank;
    if (corpus === undefined) delete spec.corpus;
  }
  if (rerank !== undefined) {
    spec.rerank = rerank;
    // A run given on the command line replaces the dataset's; its corpus only if one is given too.
    if (corpus === undefined) delete spec.corpus;
  } else if (corpus !== undefined) delete spec.rerank;
  if (corpus !== undefined) spec.corpus = corpus.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (values['missing-text'] !== undefined) spec.missingText = values['missing-text'];
  if (spec.rerank === undefined && spec.corpus === undefined && spec.index === undefined) {
    throw new SemsearchError('INVALID_ARGUMENT', 'eval needs --dataset, --candidates <run or candidates JSON>, --corpus <files>, --index <dir>, or --run <run file> to score as it is', {
      field: '--dataset',
    });
  }
  if (spec.qrels === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'eval needs --qrels <file> (or --dataset)', { field: '--qrels' });
  return spec as EvalTaskSpec;
}

/** Warnings from reading the input files, as --json lists them. */
function warningsJson(tally: WarningTally): { code: string; count: number; example: string }[] {
  return tally.list().map((w) => ({ code: w.code, count: w.count, example: w.example.message }));
}

/** The same as lines under the report table; none when the files read cleanly. */
function warningLines(tally: WarningTally): string[] {
  const list = tally.list();
  return list.length === 0 ? [] : ['', 'Input warnings:', ...list.map((w) => `  ${w.code} x${w.count}: ${w.example.message}`)];
}

/** `eval --run R --qrels Q`: the run's own ranking scored, no model loaded (what trec_eval and ir_measures do). */
async function scoreRun(values: EvalValues, runPath: string, json: boolean, io: CliIO): Promise<number> {
  for (const name of ['model', 'candidates', 'corpus', 'index', 'out', 'cross-encoder'] as const) {
    if (values[name] !== undefined) {
      throw new SemsearchError('INVALID_ARGUMENT', `--run scores the run file as it is, with no model: drop --${name} (--candidates re-ranks a run with a model)`, { field: `--${name}` });
    }
  }
  const spec = judgedFiles(values, io.env);
  const qrelsPath = spec.qrels;
  if (qrelsPath === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'eval --run needs --qrels <file> (or --dataset)', { field: '--qrels' });
  const relevanceLevel = spec.relevanceLevel ?? DEFAULT_RELEVANCE_LEVEL;
  const source = levelSource(values, spec);
  const tally = new WarningTally();
  const queries = spec.queries !== undefined ? await readQueries(spec.queries, { format: spec.queriesFormat ?? 'auto', onWarning: tally.add }) : undefined;
  const qrels = await readJudgments(qrelsPath, spec.qrelsFormat ?? 'auto', tally.add);
  const run = await readTrecRun(runPath, queries !== undefined ? { queries } : {});
  const report = evaluateRun(qrels, run, { relevanceLevel, ...(queries !== undefined ? { queries } : {}) });
  if (json) {
    const out = {
      run: runPath,
      qrels: qrelsPath,
      relevanceLevel,
      relevanceLevelFrom: source,
      summary: { 'MRR@10': report.st.summary['mrr@10'], 'NDCG@10': report.trec.summary['ndcg_cut_10'] },
      report: reportToJson(report, { perQuery: values['per-query'] === true, ...LEVEL_FLAG }),
      inputWarnings: warningsJson(tally),
    };
    io.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  const lines = [`semsearch eval: the run ${runPath} scored against ${qrelsPath} (${levelWords(relevanceLevel, source)})`, '', formatReportTable(report, LEVEL_FLAG).trimEnd()];
  lines.push(...warningLines(tally));
  io.stdout.write(lines.join('\n') + '\n');
  return 0;
}

function describe(task: EvalTask, ev: ModelEvaluation): string {
  if (task.mode === 'rerank') {
    let n = 0;
    for (const l of task.candidates.values()) n += l.docids.length;
    return `re-ranking ${task.candidates.size} queries' ${n} candidates`;
  }
  if (task.index !== undefined) return `full retrieval: ${task.queries.size} queries over the index ${task.index}${ev.indexDocuments !== undefined ? ` (${ev.indexDocuments} passages)` : ''}`;
  if (ev.indexDocuments !== undefined) return `full retrieval: ${task.queries.size} queries over ${ev.indexDocuments} indexed passages`;
  return `full retrieval: ${task.queries.size} queries over ${task.corpus.size} passages`;
}

/**
 * Which ONNX file encoded the texts (relative to the model folder when it lies there; a built graph lives in the build
 * cache) and why: what was asked for, and for --variant int8 the variant picked for this CPU.
 */
function onnxOf(model: SentenceTransformer): { file: string; requested: string; int8?: { variant: string; isa: string; fallback?: string }; warning?: string } {
  const c = model.onnxChoice;
  const rel = relative(model.config.dir, model.onnxFile);
  return {
    file: rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split('\\').join('/') : model.onnxFile,
    requested: c.requested,
    ...(c.int8 !== undefined ? { int8: { variant: c.int8.variant, isa: c.int8.isa, ...(c.int8.fallback !== undefined ? { fallback: c.int8.fallback } : {}) } } : {}),
    ...(c.warning !== undefined ? { warning: c.warning } : {}),
  };
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

/** --out, checked before anything is read or loaded: a file that can be written and is none of the task's inputs. */
function checkRunOut(values: EvalValues, spec: EvalTaskSpec): void {
  const runOut = values.out;
  if (runOut !== undefined) checkOutputPath(runOut, '--out', [spec.rerank, ...(spec.corpus ?? []), spec.queries, spec.qrels]);
}

/** The run written under --out through a temporary file renamed into place. */
async function writeRunOut(runOut: string, run: Run, tag: string | undefined): Promise<void> {
  await writeAtomically(runOut, '--out', (tmp) => writeTrecRun(tmp, run, tag !== undefined ? { tag } : {}));
}

/** `eval --cross-encoder CE` without a bi-encoder: the task's own run (a --candidates file or a dataset's) is the first stage. */
async function crossOnly(values: EvalValues, ceName: string, json: boolean, io: CliIO): Promise<number> {
  const spec = taskSpec(values, io.env);
  checkRunOut(values, spec);
  const tally = new WarningTally();
  const task = await loadEvalTask(spec, (w) => tally.add(w));
  if (task.mode !== 'rerank') {
    throw new SemsearchError('INVALID_ARGUMENT', '--cross-encoder without -m re-ranks a first-stage run: give --candidates <run file> (or a re-ranking --dataset), or -m <bi-encoder> to retrieve first', { field: '--cross-encoder' });
  }
  const first = evaluateRun(task.qrels, task.candidates, { relevanceLevel: task.relevanceLevel, queries: task.queries });
  return crossStage(values, ceName, task, { label: basename(spec.rerank ?? 'run'), run: task.candidates, texts: task.passages, report: first }, levelSource(values, spec), tally, json, io);
}

/**
 * The cross-encoder stage of eval: re-rank the first stage's top --rerank-depth per query, score the new ranking, and
 * report it beside the first stage's figures.
 */
async function crossStage(
  values: EvalValues,
  ceName: string,
  task: EvalTask,
  first: { label: string; run: Run; texts: ReadonlyMap<string, string>; report: ReturnType<typeof evaluateRun> },
  source: LevelSource,
  tally: WarningTally,
  json: boolean,
  io: CliIO,
): Promise<number> {
  const depth = values['rerank-depth'] ?? DEFAULT_CROSS_DEPTH;
  const progress = commandProgress(io, 'pairs');
  const t0 = performance.now();
  let ce: CrossEncoder | undefined;
  let run: Run;
  try {
    ce = await loadCrossEncoder(ceName, { ...(values.threads !== undefined ? { threads: values.threads } : {}), ...deviceOption(values), onWarning: (m) => io.stderr.write(`semsearch eval: warning: ${m}\n`) });
    run = await crossRerankRun(ce, first.run, {
      queries: task.queries,
      text: (d) => first.texts.get(d),
      depth,
      ...(values['batch-size'] !== undefined ? { batchSize: values['batch-size'] } : {}),
      missingText: task.mode === 'rerank' ? task.missingText : 'error',
      onWarning: (w) => tally.add(w),
      onProgress: (p) => progress.update('cross-encoder', p.done, p.total),
    });
    progress.finish();
  } finally {
    await ce?.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  let pairs = 0;
  for (const l of run.values()) pairs += l.docids.length;
  const report = evaluateRun(task.qrels, run, { relevanceLevel: task.relevanceLevel, queries: task.queries });
  const runOut = values.out;
  if (runOut !== undefined) await writeRunOut(runOut, run, values.tag);
  const ceLabel = basename(ceName.replace(/[\\/]+$/, ''));
  const summary = (r: typeof report): { 'MRR@10': number | undefined; 'NDCG@10': number | undefined } => ({ 'MRR@10': r.st.summary['mrr@10'], 'NDCG@10': r.trec.summary['ndcg_cut_10'] });
  if (json) {
    const out = {
      firstStage: first.label,
      crossEncoder: ceName,
      depth,
      task: { name: task.name, mode: task.mode, queries: task.queries.size, relevanceLevel: task.relevanceLevel, relevanceLevelFrom: source },
      firstStageSummary: summary(first.report),
      summary: summary(report),
      report: reportToJson(report, { perQuery: values['per-query'] === true, ...LEVEL_FLAG }),
      inputWarnings: warningsJson(tally),
      timings: { pairs, seconds, pairsPerSecond: seconds > 0 ? pairs / seconds : null },
      ...(runOut !== undefined ? { runFile: runOut } : {}),
    };
    io.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  const f = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(4));
  const lines = [
    `semsearch eval: ${first.label}, its top ${depth} re-ranked by ${ceLabel}, on ${task.name} (${levelWords(task.relevanceLevel, source)})`,
    '',
    `| Ranking | NDCG@10 | MRR@10 |`,
    `|---|---:|---:|`,
    `| ${first.label} | ${f(first.report.trec.summary['ndcg_cut_10'])} | ${f(first.report.st.summary['mrr@10'])} |`,
    `| + ${ceLabel} (top ${depth}) | ${f(report.trec.summary['ndcg_cut_10'])} | ${f(report.st.summary['mrr@10'])} |`,
    '',
    formatReportTable(report, LEVEL_FLAG).trimEnd(),
    ...warningLines(tally),
    '',
    `Cross-encoder: ${pairs} pairs in ${seconds.toFixed(1)} s (${rate(pairs, seconds)} pairs/s on this CPU)`,
  ];
  if (runOut !== undefined) lines.push(`Run written to ${runOut}`);
  io.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** `semsearch eval`: re-rank a run or search a corpus with a model, print the metrics, write the run; or score a run. */
export const evalCommand = defineCommand({
  name: 'eval',
  usage: USAGE,
  options: OPTIONS,
  async run({ values, json, io }) {
    if (values['list-datasets'] === true) {
      const list = listDatasets();
      const w = Math.max(...list.map((d) => d.name.length));
      const dir = values['data-dir'] ?? io.env['SEMSEARCH_DATA'];
      io.stdout.write(`${list.map((d) => `${d.name.padEnd(w)}  ${d.description}`).join('\n')}\n\ndata folder: ${dir ?? '(none: pass --data-dir or set SEMSEARCH_DATA)'}\n`);
      return 0;
    }
    if (values.run !== undefined) return scoreRun(values, values.run, json, io);
    if (values['rerank-depth'] !== undefined && values['cross-encoder'] === undefined) {
      throw new SemsearchError('INVALID_ARGUMENT', '--rerank-depth is the depth of --cross-encoder <model>', { field: '--rerank-depth' });
    }
    const modelName = values.model;
    if (modelName === undefined && values['cross-encoder'] !== undefined) return crossOnly(values, values['cross-encoder'], json, io);
    if (modelName === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'eval needs --model <folder or hub name> (or --run <run file> to score a run as it is)', { field: '--model' });
    const spec = taskSpec(values, io.env);
    checkRunOut(values, spec);
    const depth = values.depth;
    const batchSize = values['batch-size'];
    const threads = values.threads;
    const tag = values.tag;
    const runOut = values.out;

    const tally = new WarningTally();
    const task = await loadEvalTask(spec, (w) => tally.add(w));
    const variant = values.variant;
    const model = await loadModel(modelName, { ...(variant !== undefined ? { variant } : {}), ...(threads !== undefined ? { threads } : {}), ...deviceOption(values) });
    let ev: ModelEvaluation;
    const onnx = onnxOf(model);
    const progress = commandProgress(io, 'texts');
    let remote: Searcher | undefined;
    try {
      // A local index is opened by the evaluator itself (task.index); an OpenSearch one here, with the same model.
      if (isRemote(values)) remote = await openSearcher(values, undefined, { model });
      ev = await evaluateModel(model, task, {
        ...(remote !== undefined ? { index: remote } : {}),
        ...(depth !== undefined ? { depth } : {}),
        ...(batchSize !== undefined ? { batchSize } : {}),
        ...(values.exact === true ? { exact: true } : {}),
        ...(values.mode !== undefined ? { mode: values.mode } : {}),
        onProgress: (p) => progress.update(`encoding ${p.phase}`, p.done, p.total),
      });
      progress.finish();
    } finally {
      await remote?.close();
      await model.dispose();
    }
    const label = basename(modelName.replace(/[\\/]+$/, ''));
    if (values['cross-encoder'] !== undefined) {
      const texts = task.mode === 'rerank' ? task.passages : task.index !== undefined || remote !== undefined ? (ev.texts ?? new Map<string, string>()) : task.corpus;
      return crossStage(values, values['cross-encoder'], task, { label, run: ev.run, texts, report: ev.report }, levelSource(values, spec), tally, json, io);
    }
    if (runOut !== undefined) await writeRunOut(runOut, ev.run, tag);
    // Warnings from reading the files; the report lists those of re-ranking and scoring.
      if (json) {
      const out = {
        model: modelName,
        onnx,
        task: {
          name: task.name,
          mode: task.mode,
          queries: task.queries.size,
          // Through an index (a local folder or OpenSearch): its live documents; else the passages read.
          documents: ev.indexDocuments ?? (task.mode === 'rerank' ? task.passages.size : task.corpus.size),
          relevanceLevel: task.relevanceLevel,
          relevanceLevelFrom: levelSource(values, spec),
          ...(task.mode === 'retrieve' && task.index !== undefined ? { index: task.index } : {}),
        },
        summary: { 'MRR@10': ev.report.st.summary['mrr@10'], 'NDCG@10': ev.report.trec.summary['ndcg_cut_10'] },
        report: reportToJson(ev.report, { perQuery: values['per-query'] === true, ...LEVEL_FLAG }),
        inputWarnings: warningsJson(tally),
        timings: ev.timings,
        ...(runOut !== undefined ? { runFile: runOut } : {}),
      };
      io.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `semsearch eval: ${label} (${onnx.file}${onnx.int8 !== undefined ? `, int8 for ${onnx.int8.isa}` : ''}) on ${task.name} (${describe(task, ev)}; ${levelWords(task.relevanceLevel, levelSource(values, spec))})`,
      '',
      seedTable(label, task, ev),
      '',
      formatReportTable(ev.report, LEVEL_FLAG).trimEnd(),
    ];
    lines.push(...warningLines(tally));
    const t = ev.timings;
    lines.push(
      '',
      `Time: ${t.totalSeconds.toFixed(1)} s (encoding ${t.queries} queries ${t.encodeQueriesSeconds.toFixed(1)} s, ${t.documents} passages ${t.encodeDocumentsSeconds.toFixed(1)} s; scoring and metrics ${t.otherSeconds.toFixed(1)} s)`,
    );
    if (runOut !== undefined) lines.push(`Run written to ${runOut}`);
    io.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
});
