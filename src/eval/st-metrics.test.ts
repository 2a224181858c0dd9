import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ST_DEFAULT_K, stIrEvaluate, stMeasureNames, stRanking } from './st-metrics.js';
import { toQrels } from './qrels.js';
import { toRun } from './run.js';
import { WarningTally } from '../corpus/warnings.js';
import { isSemsearchError } from '../errors.js';

test('stMeasureNames uses the evaluator names and defaults', () => {
  const names = stMeasureNames();
  assert.equal(names.length, ST_DEFAULT_K.accuracyAtK.length + 2 * ST_DEFAULT_K.precisionRecallAtK.length + 3);
  for (const n of ['accuracy@1', 'precision@10', 'recall@3', 'mrr@10', 'ndcg@10', 'map@100']) assert.ok(names.includes(n), n);
});

test('stRanking keeps the maxK best by (score, id) and sorts by score, descending', () => {
  const docids = Array.from({ length: 50 }, (_, i) => `d${i}`);
  const scores = docids.map((_, i) => Math.round(Math.sin(i) * 3) / 3);
  const top = stRanking({ docids, scores }, 10);
  assert.equal(top.length, 10);
  const score = new Map(docids.map((d, i) => [d, scores[i] as number]));
  for (let i = 1; i < top.length; i++) assert.ok((score.get(top[i - 1] as string) as number) >= (score.get(top[i] as string) as number));
  // Everything left out is no better than the worst kept, and at equal score has the smaller id.
  const worst = top.at(-1) as string;
  for (const d of docids) {
    if (top.includes(d)) continue;
    const s = score.get(d) as number;
    const w = score.get(worst) as number;
    assert.ok(s < w || (s === w && top.filter((t) => score.get(t) === w).every((t) => t > d)), d);
  }
});

test('a perfect ranking scores 1 on every metric but precision beyond |relevant|', () => {
  const qrels = toQrels({ q: { a: 2, b: 1, c: 0 } });
  const run = toRun({ q: { a: 3, b: 2, c: 1 } });
  const r = stIrEvaluate(qrels, run, { accuracyAtK: [1, 2], precisionRecallAtK: [2], mrrAtK: [2], ndcgAtK: [2], mapAtK: [2] });
  for (const [m, v] of Object.entries(r.perQuery.get('q') ?? {})) assert.equal(v, 1, m);
  const three = stIrEvaluate(qrels, run, { precisionRecallAtK: [3] }).perQuery.get('q');
  assert.ok((three?.['precision@3'] as number) < 1);
  assert.equal(three?.['recall@3'], 1);
});

test('stIrEvaluate skips queries with nothing relevant, scores judged queries missing from the run as 0', () => {
  const qrels = toQrels({ q1: { a: 1 }, q2: { b: 1 }, q3: { c: 0 } });
  const run = toRun({ q1: { a: 1 }, q3: { c: 1 }, q9: { a: 1 } });
  const tally = new WarningTally();
  const r = stIrEvaluate(qrels, run, { onWarning: tally.add });
  assert.deepEqual([...r.perQuery.keys()], ['q1', 'q2']);
  assert.ok(Object.values(r.perQuery.get('q2') ?? {}).every((v) => v === 0));
  assert.equal(r.summary['mrr@10'], ((r.perQuery.get('q1')?.['mrr@10'] as number) + 0) / 2);
  assert.equal(tally.count('QUERY_WITHOUT_RELEVANT'), 1);
  assert.equal(tally.count('QRELS_QUERY_NOT_IN_RUN'), 1);
  assert.equal(tally.count('RUN_QUERY_NOT_IN_QRELS'), 1);
  // With a higher level, a grade-1 judgment no longer makes a query count.
  assert.equal(stIrEvaluate(qrels, run, { relevanceLevel: 2 }).perQuery.size, 0);
  // The evaluator's `queries` restricts and orders what is scored.
  assert.deepEqual([...stIrEvaluate(qrels, run, { queries: new Set(['q2', 'q1']) }).perQuery.keys()], ['q2', 'q1']);
  assert.throws(() => stIrEvaluate(qrels, run, { mrrAtK: [] }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'));
});

test('a run built in code that ranks a document twice is refused', () => {
  const run = new Map([['q', { docids: ['a', 'a'], scores: [3, 2] }]]);
  assert.throws(() => stIrEvaluate(toQrels({ q: { a: 1 } }), run), (e) => isSemsearchError(e, 'DUPLICATE_ENTRY'));
});
