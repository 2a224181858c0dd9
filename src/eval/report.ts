import { readTrecQrels, relevantDocs, type QueryIds, type Qrels } from './qrels.js';
import { readTrecRun, type Run } from './run.js';
import { stIrEvaluate, type StIrOptions, type StIrResult } from './st-metrics.js';
import { trecEval, type TrecEvalResult } from './trec-metrics.js';
import { WarningTally, type WarningCount, type WarningHandler } from '../corpus/warnings.js';
import { DEFAULT_RELEVANCE_LEVEL, maxGrade } from './judgments.js';

export interface EvaluateOptions {
  /**
   * Grade at which a document counts as relevant, for trec_eval's binary measures and for the
   * sentence-transformers evaluator's relevant sets. Default 1 (trec_eval's), never guessed from a file name;
   * TREC DL's convention is 2. nDCG (trec_eval) keeps grades.
   */
  relevanceLevel?: number;
  /** trec_eval measure names; default DEFAULT_TREC_MEASURES. */
  trecMeasures?: readonly string[];
  /** The sentence-transformers evaluator's cutoffs; default its own (accuracy 1,3,5,10 ... MAP@100). */
  st?: Pick<StIrOptions, 'accuracyAtK' | 'precisionRecallAtK' | 'mrrAtK' | 'ndcgAtK' | 'mapAtK'>;
  /** trec_eval -c: judged queries missing from the run count as zeros in the trec_eval means. */
  complete?: boolean;
  /** Only these queries (e.g. the topics) are evaluated; others in the run or qrels are left out. */
  queries?: QueryIds;
  /** Sees each warning as it is counted. */
  onWarning?: WarningHandler;
  /**
   * The hits the sentence-transformers side scores, when they are not the run's: full retrieval passes the
   * evaluator's own candidates (retrieve's evaluatorRun), so equal scores at its k-th place cannot change
   * its numbers. Default: the run.
   */
  stRun?: Run;
}

export interface EvalReport {
  relevanceLevel: number;
  /** The highest grade among the evaluated queries' judgments: above 1, they are graded (see relevanceNote). */
  maxGrade: number;
  counts: {
    /** Queries in the run / with judgments / with at least one relevant document (after `queries`). */
    runQueries: number;
    judgedQueries: number;
    queriesWithRelevant: number;
    /** Queries in each side's means. */
    trecEvaluated: number;
    stEvaluated: number;
  };
  trec: TrecEvalResult;
  st: StIrResult;
  warnings: WarningCount[];
}

function restrict<V>(m: ReadonlyMap<string, V>, ids: QueryIds | undefined): Map<string, V> {
  return new Map(ids === undefined ? m : [...m].filter(([qid]) => ids.has(qid)));
}

/**
 * Score a run against qrels in both semantics at once: trec_eval's (as pytrec_eval computes it) and
 * sentence-transformers' InformationRetrievalEvaluator's. What each tool would silently skip is counted
 * in `warnings` once per query.
 */
export function evaluateRun(qrels: Qrels, run: Run, options: EvaluateOptions = {}): EvalReport {
  const relevanceLevel = options.relevanceLevel ?? DEFAULT_RELEVANCE_LEVEL;
  const q = restrict(qrels, options.queries);
  const r = restrict(run, options.queries);
  const tally = new WarningTally();
  const warn: WarningHandler = (w) => {
    tally.add(w);
    options.onWarning?.(w);
  };
  let queriesWithRelevant = 0;
  for (const [qid, judged] of q) {
    if (relevantDocs(judged, relevanceLevel).size > 0) queriesWithRelevant++;
    else {
      warn({
        code: 'QUERY_WITHOUT_RELEVANT',
        message: `query ${qid} has no document judged >= ${relevanceLevel}: trec_eval scores it 0, sentence-transformers skips it`,
        query: qid,
      });
    }
    if (!r.has(qid)) {
      warn({
        code: 'QRELS_QUERY_NOT_IN_RUN',
        message: `judged query ${qid} is not in the run: trec_eval ${options.complete === true ? 'scores it 0 (complete)' : 'skips it'}, sentence-transformers scores it 0`,
        query: qid,
      });
    }
  }
  for (const qid of r.keys()) {
    if (!q.has(qid)) warn({ code: 'RUN_QUERY_NOT_IN_QRELS', message: `run query ${qid} has no judgments; both skip it`, query: qid });
  }
  const trec = trecEval(q, r, {
    relevanceLevel,
    ...(options.trecMeasures !== undefined ? { measures: options.trecMeasures } : {}),
    ...(options.complete !== undefined ? { complete: options.complete } : {}),
  });
  const st = stIrEvaluate(q, options.stRun === undefined ? r : restrict(options.stRun, options.queries), { ...options.st, relevanceLevel });
  return {
    relevanceLevel,
    maxGrade: maxGrade(q),
    counts: {
      runQueries: r.size,
      judgedQueries: q.size,
      queriesWithRelevant,
      trecEvaluated: trec.perQuery.size,
      stEvaluated: st.perQuery.size,
    },
    trec,
    st,
    warnings: tally.list(),
  };
}

/** Read a qrels file and a run file and evaluate them (see evaluateRun). */
export async function evaluateTrecFiles(qrelsPath: string, runPath: string, options: EvaluateOptions = {}): Promise<EvalReport> {
  const readOpts = options.queries !== undefined ? { queries: options.queries } : {};
  const qrels = await readTrecQrels(qrelsPath);
  const run = await readTrecRun(runPath, readOpts);
  return evaluateRun(qrels, run, options);
}

// The evaluator's own labels, as its log prints them (MRR@10, NDCG@10 ...).
const ST_LABEL: Record<string, string> = {
  accuracy: 'Accuracy',
  precision: 'Precision',
  recall: 'Recall',
  mrr: 'MRR',
  ndcg: 'NDCG',
  map: 'MAP',
};

function stLabel(name: string): string {
  const [metric, k] = name.split('@') as [string, string];
  // Two NDCG@10 values stand in one report: this one counts a relevant document as gain 1, trec_eval's the grades.
  return `${ST_LABEL[metric] ?? metric}@${k}${metric === 'ndcg' ? ' (binary gains)' : ''}`;
}

export interface FormatReportOptions extends RelevanceNoteOptions {
  /** Decimals shown (default 4). */
  digits?: number;
}

export interface RelevanceNoteOptions {
  /** How the reader asks for another level, shown in the note (default `relevanceLevel: <n>`; the CLI: `--relevance-level <n>`). */
  levelSetting?: (level: number) => string;
}

const TREC_DL_LEVEL = 2;

/**
 * For graded judgments (a grade above 1) scored at a level other than TREC DL's: the note that says so and how to
 * ask for TREC DL's convention. Undefined when there is nothing to say. The level is never guessed from a file.
 */
export function relevanceNote(report: Pick<EvalReport, 'relevanceLevel' | 'maxGrade'>, options: RelevanceNoteOptions = {}): string | undefined {
  if (report.maxGrade <= 1 || report.relevanceLevel === TREC_DL_LEVEL) return undefined;
  const ask = (options.levelSetting ?? ((n: number) => `relevanceLevel: ${n}`))(TREC_DL_LEVEL);
  return (
    `graded judgments (grades up to ${report.maxGrade}) scored at level ${report.relevanceLevel}` +
    `${report.relevanceLevel === DEFAULT_RELEVANCE_LEVEL ? " (trec_eval's default)" : ''}; ` +
    `the TREC DL convention counts grade >= ${TREC_DL_LEVEL} relevant: ${ask}`
  );
}

function formatValue(measure: string, v: number, digits: number): string {
  return measure.startsWith('num_') ? String(v) : v.toFixed(digits);
}

/**
 * The report as a plain-text table: the sentence-transformers evaluator's metrics (MRR@10, NDCG@10 ... under
 * its labels) and trec_eval's (under trec_eval's names), each with the number of queries in its means,
 * then the counted warnings.
 */
export function formatReportTable(report: EvalReport, options: FormatReportOptions = {}): string {
  const digits = options.digits ?? 4;
  const rows: [string, string][] = [];
  const c = report.counts;
  const header = [
    `Queries: ${c.runQueries} in the run, ${c.judgedQueries} judged, ${c.queriesWithRelevant} with a relevant document`,
    `Relevant: grade >= ${report.relevanceLevel} (trec_eval binary measures and the sentence-transformers evaluator; trec_eval nDCG uses the grades)`,
  ];
  const note = relevanceNote(report, options);
  if (note !== undefined) header.push(`Note: ${note}`);
  rows.push([`sentence-transformers InformationRetrievalEvaluator (${c.stEvaluated} queries)`, '']);
  for (const m of report.st.measures) rows.push([`  ${stLabel(m)}`, formatValue(m, report.st.summary[m] as number, digits)]);
  rows.push([`trec_eval (${c.trecEvaluated} queries)`, '']);
  for (const m of report.trec.measures) rows.push([`  ${m}`, formatValue(m, report.trec.summary[m] as number, digits)]);
  const width = Math.max(...rows.filter(([, v]) => v !== '').map(([k]) => k.length)) + 2;
  const lines = [...header, ''];
  for (const [k, v] of rows) lines.push(v === '' ? k : `${k.padEnd(width)}${v}`);
  if (report.warnings.length > 0) {
    lines.push('', 'Warnings:');
    for (const w of report.warnings) lines.push(`  ${w.code} x${w.count}: ${w.example.message}`);
  }
  return lines.join('\n') + '\n';
}

export interface ReportJsonOptions extends RelevanceNoteOptions {
  /** Include every query's values (default false). */
  perQuery?: boolean;
}

type Values = Record<string, number>;

export interface ReportJson {
  relevanceLevel: number;
  maxGrade: number;
  /** relevanceNote: present for graded judgments scored at a level other than TREC DL's. */
  relevanceNote?: string;
  counts: EvalReport['counts'];
  sentenceTransformers: { measures: string[]; summary: Values; perQuery?: Record<string, Values> };
  trecEval: { measures: string[]; summary: Values; perQuery?: Record<string, Values> };
  warnings: { code: string; count: number; example: string }[];
}

/** The report as plain JSON data (for --json): summaries always, per-query values on request. */
export function reportToJson(report: EvalReport, options: ReportJsonOptions = {}): ReportJson {
  const side = (r: TrecEvalResult | StIrResult): ReportJson['trecEval'] => ({
    measures: r.measures,
    summary: r.summary,
    ...(options.perQuery === true ? { perQuery: Object.fromEntries(r.perQuery) } : {}),
  });
  const note = relevanceNote(report, options);
  return {
    relevanceLevel: report.relevanceLevel,
    maxGrade: report.maxGrade,
    ...(note !== undefined ? { relevanceNote: note } : {}),
    counts: report.counts,
    sentenceTransformers: side(report.st),
    trecEval: side(report.trec),
    warnings: report.warnings.map((w) => ({ code: w.code, count: w.count, example: w.example.message })),
  };
}
