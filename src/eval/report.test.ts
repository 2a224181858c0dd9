import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { evaluateRun, evaluateTrecFiles, formatReportTable, reportToJson } from './report.js';
import { readMsMarcoQueries } from '../corpus/msmarco.js';
import { toQrels } from './qrels.js';
import { toRun } from './run.js';
import { isSemsearchError } from '../errors.js';
import { scratch, sharedFile, skipWithoutShared } from '../test-support/files.js';

const QRELS = ['msmarco-passage-topics-qrels', 'qrels.dl19-passage.txt'];
const RUN = ['msmarco-passage-trec-dl-candidates', 'BM25', 'trec_results_dl19.txt'];

interface Block {
  measures: string[];
  aggregate: number[];
  k?: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/parity/BM25.dl19.json', import.meta.url), 'utf8')) as { trec: Block[]; st: Block[] };

test('evaluateTrecFiles on BM25 DL19 gives the reference means in both semantics', { skip: skipWithoutShared(...RUN) }, async () => {
  const trec = fixture.trec[0] as Block;
  const st = fixture.st[0] as Block;
  const k = st.k as number[];
  const report = await evaluateTrecFiles(sharedFile(...QRELS), sharedFile(...RUN), {
    relevanceLevel: 2,
    trecMeasures: trec.measures,
    st: { accuracyAtK: k, precisionRecallAtK: k, mrrAtK: k, ndcgAtK: k, mapAtK: k },
  });
  trec.measures.forEach((m, i) => assert.ok(Math.abs((report.trec.summary[m] as number) - (trec.aggregate[i] as number)) <= 1e-6, m));
  st.measures.forEach((m, i) => assert.ok(Math.abs((report.st.summary[m] as number) - (st.aggregate[i] as number)) <= 1e-6, m));
  assert.equal(report.counts.trecEvaluated, report.counts.judgedQueries);
  assert.deepEqual(report.warnings, []);

  const table = formatReportTable(report);
  for (const label of ['MRR@10', 'NDCG@10 (binary gains)', 'MAP@100', 'Accuracy@1', 'ndcg_cut_10', 'recip_rank']) assert.ok(table.includes(label), label);
  assert.ok(table.includes((report.st.summary['mrr@10'] as number).toFixed(4)));
  assert.ok(table.includes((report.trec.summary['ndcg_cut_10'] as number).toFixed(4)));
});

test('evaluateTrecFiles with topics: a run line for a query outside them is UNKNOWN_QUERY with file and line', { skip: skipWithoutShared(...QRELS) }, async () => {
  const s = await scratch();
  try {
    const topics = await readMsMarcoQueries(sharedFile('msmarco-passage-topics-qrels', 'topics.dl19-passage.txt'));
    const first = [...topics.keys()][0] as string;
    const run = await s.write('r.run', `${first} Q0 123 1 2.0 t\n999999999 Q0 123 1 2.0 t\n`);
    await assert.rejects(
      evaluateTrecFiles(sharedFile(...QRELS), run, { queries: topics }),
      (e) => isSemsearchError(e, 'UNKNOWN_QUERY') && e.file === run && e.line === 2,
    );
  } finally {
    await s.remove();
  }
});

test('evaluateRun counts each skipped query once, whatever both semantics do with it', () => {
  const qrels = toQrels({ q1: { a: 2, b: 0 }, q2: { c: 2 }, q3: { d: 1 } });
  const run = toRun({ q1: { a: 1, b: 2 }, q3: { d: 1 }, q9: { a: 1 } });
  const seen: string[] = [];
  const report = evaluateRun(qrels, run, { relevanceLevel: 2, onWarning: (w) => seen.push(w.code) });
  const count = Object.fromEntries(report.warnings.map((w) => [w.code, w.count]));
  assert.deepEqual(count, { QUERY_WITHOUT_RELEVANT: 1, QRELS_QUERY_NOT_IN_RUN: 1, RUN_QUERY_NOT_IN_QRELS: 1 });
  assert.equal(seen.length, 3);
  assert.equal(report.counts.trecEvaluated, 2); // q1 and q3 (q3 has nothing relevant but trec_eval scores it)
  assert.equal(report.counts.stEvaluated, 2); // q1 and q2 (q2 is missing from the run and scores 0)
  assert.ok(formatReportTable(report).includes('RUN_QUERY_NOT_IN_QRELS x1'));
  const complete = evaluateRun(qrels, run, { relevanceLevel: 2, complete: true });
  assert.equal(complete.counts.trecEvaluated, 3);
  const only = evaluateRun(qrels, run, { queries: new Set(['q1']) });
  assert.equal(only.counts.runQueries, 1);
  assert.deepEqual(only.warnings, []);
});

test('reportToJson is plain JSON, with per-query values only on request', () => {
  const report = evaluateRun(toQrels({ q1: { a: 1 }, q2: { b: 1 } }), toRun({ q1: { a: 1, b: 0 }, q2: { a: 1, b: 0 } }));
  const small = JSON.parse(JSON.stringify(reportToJson(report)));
  assert.deepEqual(small.trecEval.summary, report.trec.summary);
  assert.deepEqual(small.sentenceTransformers.summary, report.st.summary);
  assert.equal(small.trecEval.perQuery, undefined);
  const full = JSON.parse(JSON.stringify(reportToJson(report, { perQuery: true })));
  assert.deepEqual(full.sentenceTransformers.perQuery.q2, report.st.perQuery.get('q2'));
  assert.deepEqual(Object.keys(full.trecEval.perQuery), ['q1', 'q2']);
});

test('the report states the level and, for graded judgments at another level than 2, how to ask for TREC DL\'s (issue 28)', () => {
  const graded = toQrels({ q1: { a: 3, b: 1, c: 0 }, q2: { d: 2 } });
  const run = toRun({ q1: { b: 3, a: 2, c: 1 }, q2: { d: 1 } });
  const at1 = evaluateRun(graded, run);
  assert.equal(at1.relevanceLevel, 1);
  assert.equal(at1.maxGrade, 3);
  const note = "graded judgments (grades up to 3) scored at level 1 (trec_eval's default); the TREC DL convention counts grade >= 2 relevant: relevanceLevel: 2";
  assert.match(formatReportTable(at1), new RegExp(`^Note: ${note.replace(/[()]/g, '\\$&')}$`, 'm'));
  assert.equal(reportToJson(at1).relevanceNote, note);
  assert.equal(reportToJson(at1, { levelSetting: (n) => `pass --relevance-level ${n}` }).relevanceNote?.endsWith('pass --relevance-level 2'), true);
  const at2 = evaluateRun(graded, run, { relevanceLevel: 2 });
  assert.equal(reportToJson(at2).relevanceNote, undefined);
  assert.doesNotMatch(formatReportTable(at2), /^Note:/m);
  // Binary judgments: nothing to say.
  const binary = evaluateRun(toQrels({ q1: { a: 1 } }), run);
  assert.equal(binary.maxGrade, 1);
  assert.equal(reportToJson(binary).relevanceNote, undefined);
  assert.equal(reportToJson(binary).relevanceLevel, 1);
});
