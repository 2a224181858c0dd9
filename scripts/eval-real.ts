/**
 * Real-weight evaluation runs, semsearch beside Python sentence-transformers (run by hand, never by npm test).
 *
 *   ~/venvs/ref/bin/python tools/reference/eval_real.py --dataset cranfield     # the reference, first
 *   node --import tsx scripts/eval-real.ts --dataset cranfield                        # semsearch, then the table
 *   node --import tsx scripts/eval-real.ts --report-only --dataset a,b,...            # the table again from saved runs
 *
 * For each dataset (the `semsearch eval --dataset` names) it runs semsearch's evaluateModel on the real
 * all-MiniLM-L6-v2 ONNX export, saves the run and metrics under OUT/semsearch/<dataset>/, reads Python's under
 * OUT/python/<dataset>/ and prints: every metric on both sides and the largest difference (summary and per
 * query; the bar is 1e-4), the largest |score difference| over the (query, document) pairs both runs hold, how
 * many queries rank identically, the digests of the texts each side encoded (they must be equal: same data),
 * and the wall time of each side with the load average when it started.
 *
 * Options: --model DIR (default ~/.cache/semsearch/real/all-MiniLM-L6-v2), --out DIR (default
 * ~/.cache/semsearch/eval-real), --batch-size N (32), --depth N (1000), --report-only.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/encoder/load-model.js';
import { evaluateModel } from '../src/eval/evaluate-model.js';
import { reportToJson } from '../src/eval/report.js';
import { readTrecRun, writeTrecRun } from '../src/eval/run.js';
import { datasetSpec } from '../src/cli/datasets.js';
import { loadEvalTask, type EvalTask } from '../src/eval/tasks.js';

const args = process.argv.slice(2);
function opt(name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : dflt;
}
const datasets = opt('dataset', 'dl19-bm25-rerank,dl20-bm25-rerank,cranfield,cacm,dl19-pool').split(',');
const MODEL = opt('model', join(homedir(), '.cache', 'semsearch', 'real', 'all-MiniLM-L6-v2'));
const OUT = opt('out', join(homedir(), '.cache', 'semsearch', 'eval-real'));
// The named datasets need their folder said explicitly; this script lives in the checkout, beside ../shared.
const DATA = opt('data-dir', process.env['SEMSEARCH_DATA'] ?? fileURLToPath(new URL('../../shared/data/', import.meta.url)));
const batchSize = Number(opt('batch-size', '32'));
const depth = Number(opt('depth', '1000'));
const reportOnly = args.includes('--report-only');
const TOL = 1e-4;

interface Side {
  st: { summary: Record<string, number>; perQuery: Record<string, Record<string, number>> };
  trec: { summary: Record<string, number>; perQuery: Record<string, Record<string, number>> };
  timings: { total: number; encode_documents: number; encode_queries: number };
  loadavgStart: number[];
  queriesDigest: string;
  corpusDigest: string;
  nQueries: number;
  nDocuments: number;
}

function digest(pairs: Iterable<[string, string]>): string {
  const h = createHash('sha256');
  for (const [k, v] of pairs) h.update(`${k}\t${v}\n`, 'utf8');
  return h.digest('hex');
}

/** The texts encoded, in encoding order, as eval_real.py digests them. */
function digests(task: EvalTask): { queriesDigest: string; corpusDigest: string; nQueries: number; nDocuments: number } {
  if (task.mode === 'retrieve') {
    return { queriesDigest: digest(task.queries), corpusDigest: digest(task.corpus), nQueries: task.queries.size, nDocuments: task.corpus.size };
  }
  const docs = new Map<string, string>();
  for (const l of task.candidates.values()) for (const d of l.docids) if (!docs.has(d)) docs.set(d, task.passages.get(d) as string);
  const qs = [...task.candidates.keys()].map((q) => [q, task.queries.get(q) as string] as [string, string]);
  return { queriesDigest: digest(qs), corpusDigest: digest(docs), nQueries: qs.length, nDocuments: docs.size };
}

async function runSemsearch(name: string): Promise<void> {
  const load = loadavg();
  const t0 = performance.now();
  const task = await loadEvalTask(datasetSpec(name, DATA));
  const model = await loadModel(MODEL);
  const ev = await evaluateModel(model, task, { batchSize, depth });
  const total = (performance.now() - t0) / 1000;
  await model.dispose();
  const dir = join(OUT, 'semsearch', name);
  mkdirSync(dir, { recursive: true });
  await writeTrecRun(join(dir, 'run.trec'), ev.run, { tag: 'semsearch' });
  const j = reportToJson(ev.report, { perQuery: true });
  const side: Side = {
    st: { summary: j.sentenceTransformers.summary, perQuery: j.sentenceTransformers.perQuery ?? {} },
    trec: { summary: j.trecEval.summary, perQuery: j.trecEval.perQuery ?? {} },
    timings: { total, encode_documents: ev.timings.encodeDocumentsSeconds, encode_queries: ev.timings.encodeQueriesSeconds },
    loadavgStart: load,
    ...digests(task),
  };
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ ...side, warnings: j.warnings, model: MODEL, batchSize, depth }, null, 1) + '\n');
  console.error(`${name}: semsearch done in ${total.toFixed(1)} s (load ${load[0]?.toFixed(2)})`);
}

function readSide(dir: string, python: boolean): Side {
  const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  if (!python) return m as unknown as Side;
  const p = m as {
    st: { summary: Record<string, number>; per_query: Record<string, Record<string, number>> };
    trec: { summary: Record<string, number>; per_query: Record<string, Record<string, number>> };
    timings: Side['timings'];
    loadavg_start: number[];
    queries_digest: string;
    corpus_digest: string;
    n_queries: number;
    n_documents: number;
  };
  return {
    st: { summary: p.st.summary, perQuery: p.st.per_query },
    trec: { summary: p.trec.summary, perQuery: p.trec.per_query },
    timings: p.timings,
    loadavgStart: p.loadavg_start,
    queriesDigest: p.queries_digest,
    corpusDigest: p.corpus_digest,
    nQueries: p.n_queries,
    nDocuments: p.n_documents,
  };
}

interface Row {
  dataset: string;
  ts: Side;
  py: Side;
  maxMetricDiff: number;
  maxPerQueryDiff: number;
  maxScoreDiff: number;
  pairs: number;
  sameOrder: string;
  sameData: boolean;
}

async function compare(name: string): Promise<Row> {
  const tsDir = join(OUT, 'semsearch', name);
  const pyDir = join(OUT, 'python', name);
  const ts = readSide(tsDir, false);
  const py = readSide(pyDir, true);
  let maxMetricDiff = 0;
  let maxPerQueryDiff = 0;
  const lines: string[] = [`\n== ${name} ==`, `${'measure'.padEnd(16)} ${'semsearch'.padStart(10)} ${'python'.padStart(10)} ${'|diff|'.padStart(9)} ${'max |diff| per query'.padStart(21)}`];
  for (const side of ['st', 'trec'] as const) {
    for (const [m, v] of Object.entries(ts[side].summary)) {
      const pv = py[side].summary[m];
      if (pv === undefined) continue;
      const d = Math.abs(v - pv);
      maxMetricDiff = Math.max(maxMetricDiff, d);
      let qd = 0;
      const qids = new Set([...Object.keys(ts[side].perQuery), ...Object.keys(py[side].perQuery)]);
      for (const q of qids) qd = Math.max(qd, Math.abs((ts[side].perQuery[q]?.[m] ?? NaN) - (py[side].perQuery[q]?.[m] ?? NaN)));
      maxPerQueryDiff = Math.max(maxPerQueryDiff, Number.isNaN(qd) ? Infinity : qd);
      lines.push(`${m.padEnd(16)} ${v.toFixed(6).padStart(10)} ${pv.toFixed(6).padStart(10)} ${d.toExponential(1).padStart(9)} ${qd.toExponential(1).padStart(21)}`);
    }
  }
  const tsRun = await readTrecRun(join(tsDir, 'run.trec'));
  const pyRun = await readTrecRun(join(pyDir, 'run.trec'));
  let maxScoreDiff = 0;
  let pairs = 0;
  for (const [q, l] of tsRun) {
    const p = pyRun.get(q);
    if (p === undefined) continue;
    const ps = new Map(p.docids.map((d, i) => [d, p.scores[i] as number]));
    l.docids.forEach((d, i) => {
      const s = ps.get(d);
      if (s === undefined) return;
      pairs++;
      maxScoreDiff = Math.max(maxScoreDiff, Math.abs((l.scores[i] as number) - s));
    });
  }
  // Same order: both run files are best first (re-ranking: each list sorted by the new score; retrieval:
  // util.semantic_search's order), so whole lists are compared. Where they differ, the gap is Python's score
  // of the two documents that swap places at the first difference: how near a tie it was.
  let same = 0;
  let same100 = 0;
  let total = 0;
  let maxSwapGap = 0;
  for (const [q, l] of tsRun) {
    total++;
    const p = pyRun.get(q);
    if (p === undefined) continue;
    if (p.docids.slice(0, 100).join(' ') === l.docids.slice(0, 100).join(' ')) same100++;
    if (p.docids.join(' ') === l.docids.join(' ')) {
      same++;
      continue;
    }
    const at = l.docids.findIndex((d, i) => d !== p.docids[i]);
    const ps = new Map(p.docids.map((d, i) => [d, p.scores[i] as number]));
    const ours = ps.get(l.docids[at] as string);
    if (ours !== undefined && at >= 0) maxSwapGap = Math.max(maxSwapGap, Math.abs((p.scores[at] as number) - ours));
  }
  const sameData = ts.queriesDigest === py.queriesDigest && ts.corpusDigest === py.corpusDigest;
  lines.push(
    `data: ${ts.nQueries} queries, ${ts.nDocuments} passages encoded; digests ${sameData ? 'equal (same texts on both sides)' : `DIFFER: ts ${ts.corpusDigest.slice(0, 12)} py ${py.corpusDigest.slice(0, 12)}`}`,
    `max |metric diff| ${maxMetricDiff.toExponential(2)} (summary), ${maxPerQueryDiff.toExponential(2)} (per query); ${maxMetricDiff <= TOL ? 'within' : 'OUTSIDE'} ${TOL}`,
    `max |score diff| ${maxScoreDiff.toExponential(2)} over ${pairs} shared (query, passage) pairs; identical order for ${same100}/${total} queries in the first 100, ${same}/${total} over whole lists${same < total ? ` (where they differ, the two documents that swap first are ${maxSwapGap.toExponential(1)} apart or less in score)` : ''}`,
    `wall time: semsearch ${ts.timings.total.toFixed(1)} s (encode ${ts.timings.encode_documents.toFixed(1)} s, load ${ts.loadavgStart[0]?.toFixed(2)}), ` +
      `python ${py.timings.total.toFixed(1)} s (encode ${py.timings.encode_documents.toFixed(1)} s, load ${py.loadavgStart[0]?.toFixed(2)})`,
  );
  console.log(lines.join('\n'));
  return { dataset: name, ts, py, maxMetricDiff, maxPerQueryDiff, maxScoreDiff, pairs, sameOrder: `${same100} / ${same} of ${total}`, sameData };
}

const rows: Row[] = [];
for (const name of datasets) {
  if (!reportOnly) await runSemsearch(name);
  if (!existsSync(join(OUT, 'python', name, 'metrics.json'))) {
    console.error(`${name}: no Python results in ${join(OUT, 'python', name)}; run tools/reference/eval_real.py --dataset ${name} first`);
    continue;
  }
  rows.push(await compare(name));
}
const f4 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(4));
console.log('\n| dataset | MRR@10 semsearch / python | NDCG@10 (trec) semsearch / python | MAP@100 (ST) | recall_1000 | max metric diff | max score diff | same order: top 100 / whole list | wall s semsearch / python (load avg) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.dataset} | ${f4(r.ts.st.summary['mrr@10'])} / ${f4(r.py.st.summary['mrr@10'])} | ${f4(r.ts.trec.summary['ndcg_cut_10'])} / ${f4(r.py.trec.summary['ndcg_cut_10'])} | ` +
      `${f4(r.ts.st.summary['map@100'])} / ${f4(r.py.st.summary['map@100'])} | ${f4(r.ts.trec.summary['recall_1000'])} / ${f4(r.py.trec.summary['recall_1000'])} | ` +
      `${r.maxMetricDiff.toExponential(1)} | ${r.maxScoreDiff.toExponential(1)} | ${r.sameOrder} | ` +
      `${r.ts.timings.total.toFixed(1)} (${r.ts.loadavgStart[0]?.toFixed(2)}) / ${r.py.timings.total.toFixed(1)} (${r.py.loadavgStart[0]?.toFixed(2)}) |`,
  );
}
if (rows.some((r) => !r.sameData || r.maxMetricDiff > TOL)) process.exitCode = 1;
