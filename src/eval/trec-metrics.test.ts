import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TREC_MEASURES, parseTrecMeasures, trecEval, trecRanking } from './trec-metrics.js';
import { compareCodePoints } from './codepoint-order.js';
import { toQrels } from './qrels.js';
import { toRun } from './run.js';
import { WarningTally } from '../corpus/warnings.js';
import { isSemsearchError } from '../errors.js';

test('parseTrecMeasures takes result names and trec_eval command-line lists, and refuses unknown ones', () => {
  assert.deepEqual(
    parseTrecMeasures(['map', 'ndcg_cut.5,10', 'ndcg_cut_10', 'P_20']).map((m) => m.name),
    ['map', 'ndcg_cut_5', 'ndcg_cut_10', 'P_20'],
  );
  assert.equal(parseTrecMeasures(DEFAULT_TREC_MEASURES).length, DEFAULT_TREC_MEASURES.length);
  assert.throws(() => parseTrecMeasures(['ndcg@10']), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'measures');
  assert.throws(() => parseTrecMeasures(['P_0']), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'));
});

test('trecRanking orders by float32 score descending, then docno descending by code point', () => {
  const docids = ['9', '10', 'a', 'é', '\u{1F600}', '\uFFFD', 'x', 'y'];
  const scores = [1, 1, 0.5, 0.5, 2, 2, 0.1 + 1e-12, 0.1];
  const ranked = trecRanking({ docids, scores });
  const score = new Map(docids.map((d, i) => [d, Math.fround(scores[i] as number)]));
  for (let i = 1; i < ranked.length; i++) {
    const a = ranked[i - 1] as string;
    const b = ranked[i] as string;
    const sa = score.get(a) as number;
    const sb = score.get(b) as number;
    assert.ok(sa > sb || (sa === sb && compareCodePoints(a, b) > 0), `${a} before ${b}`);
  }
  // 0.1 + 1e-12 and 0.1 are one float32, so the docno decides: y before x although x scores higher as a double.
  assert.ok(ranked.indexOf('y') < ranked.indexOf('x'));
});

test('a ranking by grade is ideal: nDCG, MAP, recall and R-precision reach 1', () => {
  const qrels = toQrels({ q: { a: 3, b: 2, c: 1, d: 0, e: 2 } });
  const run = toRun({ q: { a: 9, b: 8, e: 7, c: 6, d: 5, z: 4 } });
  const r = trecEval(qrels, run, { relevanceLevel: 1, measures: ['ndcg', 'ndcg_cut.3,10', 'map', 'recall_10', 'Rprec', 'recip_rank'] });
  for (const v of Object.values(r.perQuery.get('q') ?? {})) assert.equal(v, 1);
  // Reversing it must cost every rank-sensitive measure something.
  const worse = trecEval(qrels, toRun({ q: { a: 1, b: 2, e: 3, c: 4, d: 5, z: 6 } }), { measures: ['ndcg', 'map', 'recip_rank'] });
  for (const v of Object.values(worse.perQuery.get('q') ?? {})) assert.ok(v < 1);
});

test('the relevance level moves binary measures only; nDCG keeps the grades', () => {
  const qrels = toQrels({ q: { a: 1, b: 2, c: 3 } });
  const run = toRun({ q: { a: 3, b: 2, c: 1 } });
  const at1 = trecEval(qrels, run, { relevanceLevel: 1, measures: ['ndcg_cut_10', 'recip_rank', 'num_rel'] }).perQuery.get('q');
  const at2 = trecEval(qrels, run, { relevanceLevel: 2, measures: ['ndcg_cut_10', 'recip_rank', 'num_rel'] }).perQuery.get('q');
  assert.equal(at1?.['ndcg_cut_10'], at2?.['ndcg_cut_10']);
  assert.ok((at1?.['recip_rank'] as number) > (at2?.['recip_rank'] as number));
  assert.equal(at1?.['num_rel'], 3);
  assert.equal(at2?.['num_rel'], 2);
  assert.throws(() => trecEval(qrels, run, { relevanceLevel: 0 }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'));
});

test('trecEval skips and counts run queries without judgments and judged queries without a run', () => {
  const qrels = toQrels({ q1: { a: 1 }, q2: { b: 1 } });
  const run = toRun({ q1: { a: 1 }, q9: { a: 1 } });
  const tally = new WarningTally();
  const r = trecEval(qrels, run, { onWarning: tally.add, measures: ['map', 'num_rel', 'num_ret'] });
  assert.deepEqual([...r.perQuery.keys()], ['q1']);
  assert.equal(tally.count('RUN_QUERY_NOT_IN_QRELS'), 1);
  assert.equal(tally.count('QRELS_QUERY_NOT_IN_RUN'), 1);
  // complete (-c): the missing judged query counts, on an empty ranking, and pulls the mean down.
  const c = trecEval(qrels, run, { complete: true, measures: ['map', 'num_rel', 'num_ret'] });
  assert.deepEqual([...c.perQuery.keys()], ['q1', 'q2']);
  assert.equal(c.perQuery.get('q2')?.['num_ret'], 0);
  assert.equal(c.summary['map'], ((r.summary['map'] as number) + (c.perQuery.get('q2')?.['map'] as number)) / 2);
  // num_* are summed in the summary, as trec_eval's "all" line does.
  assert.equal(c.summary['num_rel'], 2);
});

test('a run built in code that ranks a document twice is refused, as trec_eval refuses it', () => {
  const qrels = toQrels({ q: { a: 1 } });
  const run = new Map([['q', { docids: ['a', 'b', 'a'], scores: [3, 2, 1] }]]);
  assert.throws(() => trecEval(qrels, run), (e) => isSemsearchError(e, 'DUPLICATE_ENTRY') && e.field === 'run');
  const ragged = new Map([['q', { docids: ['a', 'b'], scores: [3] }]]);
  assert.throws(() => trecEval(qrels, ragged), (e) => isSemsearchError(e, 'SHAPE_MISMATCH'));
});
