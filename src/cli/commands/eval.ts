import { SEARCH_MODES } from '../../store/fusion.js';
import { basename } from 'node:path';
import { QUERIES_FORMATS } from '../../corpus/formats.js';
import type { WarningCount } from '../../corpus/warnings.js';
import type { SentenceTransformer } from '../../encoder/sentence-transformer.js';
import type { Run } from '../../eval/run.js';
import { SemsearchError } from '../../errors.js';
import type { ModelEvaluation } from '../../eval/evaluate-model.js';
import { QRELS_FORMATS } from '../../eval/judgments.js';
import type { RelevanceNoteOptions } from '../../eval/report.js';

// The report's table is formatted by eval/report.js and the metric modules behind it, imported when a command runs
// (not for `eval --help`) and handed to the functions below.
type FormatTable = (typeof import('../../eval/report.js'))['formatReportTable'];
import type { Evaluation, OnnxUsed } from '../../eval/run-evaluation.js';
import type { EvalTask, EvalTaskSpec } from '../../eval/tasks.js';
import { defineCommand, type CliIO, type OptionValues } from '../command.js';
import { datasetSpec, listDatasets, resolveDataDir } from '../datasets.js';
import { BACKEND_OPTIONS, BATCH_SIZE_OPTION, CROSS_ENCODER_OPTION, DEVICE_OPTION, EXACT_OPTION, MODEL_OPTION, OUT_OPTION, THREADS_OPTION, VARIANT_OPTION, deviceOption } from '../options.js';
import { checkBackendValues, isRemote, openSearcher } from '../backend.js';
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
  chunk: { type: 'boolean', description: "full retrieval over a corpus: cut documents longer than the model's window into token windows and rank each by its best (as index --chunk)" },
  'chunk-tokens': { type: 'number', description: "--chunk: tokens per window, special tokens included (default: the model's max_seq_length)", positiveInteger: true },
  'chunk-overlap': { type: 'number', description: '--chunk: tokens neighbouring windows share (default: an eighth of the window)' },
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

/** The warnings as lines under the report table; none when the files read cleanly. */
function warningLines(list: readonly WarningCount[]): string[] {
  return list.length === 0 ? [] : ['', 'Input warnings:', ...list.map((w) => `  ${w.code} x${w.count}: ${w.example.message}`)];
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
  const { writeTrecRun } = await import('../../eval/run.js');
  await writeAtomically(runOut, '--out', (tmp) => writeTrecRun(tmp, run, tag !== undefined ? { tag } : {}));
}

/** `eval --run R --qrels Q`: the flags checked, the run scored as it is (runEvaluation), the report printed. */
async function scoreRun(values: EvalValues, runPath: string, json: boolean, io: CliIO): Promise<number> {
  for (const name of ['model', 'candidates', 'corpus', 'index', 'out', 'cross-encoder'] as const) {
    if (values[name] !== undefined) {
      throw new SemsearchError('INVALID_ARGUMENT', `--run scores the run file as it is, with no model: drop --${name} (--candidates re-ranks a run with a model)`, { field: `--${name}` });
    }
  }
  const spec = judgedFiles(values, io.env);
  const qrelsPath = spec.qrels;
  if (qrelsPath === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'eval --run needs --qrels <file> (or --dataset)', { field: '--qrels' });
  const source = levelSource(values, spec);
  const { runEvaluation } = await import('../../eval/run-evaluation.js');
  const result = await runEvaluation({ task: { ...spec, qrels: qrelsPath }, run: runPath, relevanceLevelFrom: source, relevanceNote: LEVEL_FLAG, perQuery: values['per-query'] === true });
  if (json) {
    io.stdout.write(JSON.stringify(result.json, null, 2) + '\n');
    return 0;
  }
  const lines = [`semsearch eval: the run ${runPath} scored against ${qrelsPath} (${levelWords(result.relevanceLevel, source)})`, '', (await import('../../eval/report.js')).formatReportTable(result.report, LEVEL_FLAG).trimEnd()];
  lines.push(...warningLines(result.warnings));
  io.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** The cross-encoder stage's report, as a table beside the first stage's figures. */
function crossLines(result: Evaluation, task: EvalTask, source: LevelSource, formatReportTable: FormatTable): string[] {
  const first = result.firstStage as NonNullable<Evaluation['firstStage']>;
  const { name, depth, pairs, seconds } = result.crossEncoder as NonNullable<Evaluation['crossEncoder']>;
  const ceLabel = basename(name.replace(/[\\/]+$/, ''));
  const report = result.report;
  const f = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(4));
  return [
    `semsearch eval: ${first.label}, its top ${depth} re-ranked by ${ceLabel}, on ${task.name} (${levelWords(task.relevanceLevel, source)})`,
    '',
    `| Ranking | NDCG@10 | MRR@10 |`,
    `|---|---:|---:|`,
    `| ${first.label} | ${f(first.report.trec.summary['ndcg_cut_10'])} | ${f(first.report.st.summary['mrr@10'])} |`,
    `| + ${ceLabel} (top ${depth}) | ${f(report.trec.summary['ndcg_cut_10'])} | ${f(report.st.summary['mrr@10'])} |`,
    '',
    formatReportTable(report, LEVEL_FLAG).trimEnd(),
    ...warningLines(result.warnings),
    '',
    `Cross-encoder: ${pairs} pairs in ${seconds.toFixed(1)} s (${rate(pairs, seconds)} pairs/s on this CPU)`,
  ];
}

/** The bi-encoder's report: the seed's table row, the metrics, the timings. */
function modelLines(result: Evaluation, task: EvalTask, label: string, source: LevelSource, formatReportTable: FormatTable): string[] {
  const ev = result.modelEvaluation as ModelEvaluation;
  const onnx = result.onnx as OnnxUsed;
  const lines = [
    `semsearch eval: ${label} (${onnx.file}${onnx.int8 !== undefined ? `, int8 for ${onnx.int8.isa}` : ''}) on ${task.name} (${describe(task, ev)}; ${levelWords(task.relevanceLevel, source)})`,
    '',
    seedTable(label, task, ev),
    '',
    formatReportTable(ev.report, LEVEL_FLAG).trimEnd(),
  ];
  lines.push(...warningLines(result.warnings));
  const t = ev.timings;
  lines.push(
    '',
    `Time: ${t.totalSeconds.toFixed(1)} s (encoding ${t.queries} queries ${t.encodeQueriesSeconds.toFixed(1)} s, ${t.documents} passages ${t.encodeDocumentsSeconds.toFixed(1)} s; scoring and metrics ${t.otherSeconds.toFixed(1)} s)`,
  );
  return lines;
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
    const ceName = values['cross-encoder'];
    if (modelName === undefined && ceName === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'eval needs --model <folder or hub name> (or --run <run file> to score a run as it is)', { field: '--model' });
    const spec = taskSpec(values, io.env);
    checkRunOut(values, spec);
    if (modelName === undefined && spec.rerank === undefined) {
      // Without -m the cross-encoder re-ranks the task's own run (a --candidates file or a dataset's).
      throw new SemsearchError('INVALID_ARGUMENT', '--cross-encoder without -m re-ranks a first-stage run: give --candidates <run file> (or a re-ranking --dataset), or -m <bi-encoder> to retrieve first', { field: '--cross-encoder' });
    }
    const { threads, variant, tag } = values;
    const runOut = values.out;
    const source = levelSource(values, spec);
    const texts = commandProgress(io, 'texts');
    const pairs = commandProgress(io, 'pairs');
    // Imported here, not at the top, so `eval --help` loads neither ONNX Runtime nor SQLite nor usearch.
    const { runEvaluation } = await import('../../eval/run-evaluation.js');
    const result = await runEvaluation({
      task: spec,
      ...(modelName !== undefined ? { model: modelName } : {}),
      modelOptions: { ...(variant !== undefined ? { variant } : {}), ...(threads !== undefined ? { threads } : {}), ...deviceOption(values) },
      // A local index is opened by the evaluator itself (the task's index); an OpenSearch one here, with the same model.
      ...(isRemote(values) ? { openIndex: (model: SentenceTransformer) => openSearcher(values, undefined, { model }) } : {}),
      ...(values.depth !== undefined ? { depth: values.depth } : {}),
      ...(values['batch-size'] !== undefined ? { batchSize: values['batch-size'] } : {}),
      ...(values.exact === true ? { exact: true } : {}),
      ...(values.mode !== undefined ? { mode: values.mode } : {}),
      ...(values.chunk === true
        ? { chunk: { ...(values['chunk-tokens'] !== undefined ? { maxTokens: values['chunk-tokens'] } : {}), ...(values['chunk-overlap'] !== undefined ? { overlap: values['chunk-overlap'] } : {}) } }
        : {}),
      ...(ceName !== undefined ? { crossEncoder: ceName, crossEncoderOptions: { ...(threads !== undefined ? { threads } : {}), ...deviceOption(values) } } : {}),
      ...(values['rerank-depth'] !== undefined ? { crossDepth: values['rerank-depth'] } : {}),
      perQuery: values['per-query'] === true,
      relevanceNote: LEVEL_FLAG,
      relevanceLevelFrom: source,
      onProgress: (p) => (p.stage === 'encoding' ? texts.update(`encoding ${p.phase}`, p.done, p.total) : pairs.update('cross-encoder', p.done, p.total)),
      onStageDone: (stage) => (stage === 'encoding' ? texts : pairs).finish(),
      onModelWarning: (m) => io.stderr.write(`semsearch eval: warning: ${m}\n`),
    });
    if (runOut !== undefined) await writeRunOut(runOut, result.run, tag);
    const task = result.task as EvalTask;
    if (json) {
      io.stdout.write(JSON.stringify({ ...result.json, ...(runOut !== undefined ? { runFile: runOut } : {}) }, null, 2) + '\n');
      return 0;
    }
    const { formatReportTable } = await import('../../eval/report.js');
    const lines = result.kind === 'cross-encoder' ? crossLines(result, task, source, formatReportTable) : modelLines(result, task, basename((modelName as string).replace(/[\\/]+$/, '')), source, formatReportTable);
    if (runOut !== undefined) lines.push(`Run written to ${runOut}`);
    io.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
});
