import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readTrecQrels } from './qrels.js';
import { readTrecRun } from './run.js';
import { trecEval } from './trec-metrics.js';
import { stIrEvaluate } from './st-metrics.js';
import { sharedFile, skipWithoutShared } from '../test-support/files.js';

/*
 * Parity with the reference tools, query by query: tools/reference/eval_parity.py wrote what pytrec_eval
 * (trec_eval semantics) and sentence-transformers' InformationRetrievalEvaluator compute on the six
 * retrievers' DL19/DL20 runs and on a synthetic case full of ties; every value must agree to 1e-6.
 */

const TOLERANCE = 1e-6;
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = join(REPO, 'src/eval/fixtures/parity');

interface Block {
  relevance_level: number;
  measures: string[];
  per_query: Record<string, number[]>;
  aggregate: number[];
  k?: number[];
}

interface Fixture {
  case: string;
  qrels: string;
  run: string;
  trec: Block[];
  st: Block[];
}

const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { files: string[] };

let compared = 0;
let maxDiff = 0;

function compare(kind: string, block: Block, perQuery: Map<string, Record<string, number>>, summary: Record<string, number>): void {
  assert.deepEqual([...perQuery.keys()].sort(), Object.keys(block.per_query).sort(), `${kind}: the same queries are scored`);
  for (const [qid, expected] of Object.entries(block.per_query)) {
    const got = perQuery.get(qid) as Record<string, number>;
    block.measures.forEach((m, i) => {
      const diff = Math.abs((got[m] as number) - (expected[i] as number));
      maxDiff = Math.max(maxDiff, diff);
      compared++;
      assert.ok(diff <= TOLERANCE, `${kind} query ${qid} ${m}: semsearch ${got[m]}, reference ${expected[i]}`);
    });
  }
  block.measures.forEach((m, i) => {
    const diff = Math.abs((summary[m] as number) - (block.aggregate[i] as number));
    maxDiff = Math.max(maxDiff, diff);
    compared++;
    assert.ok(diff <= TOLERANCE, `${kind} mean ${m}: semsearch ${summary[m]}, reference ${block.aggregate[i]}`);
  });
}

test('the parity fixtures cover all six retrievers on DL19 and DL20, and the synthetic case', () => {
  for (const r of ['BM25', 'BM25_RM3', 'D_BERT_KD_TASB', 'OPEN_AI_ADA2', 'SPLADE_P_P_ENSEMBLE_DISTIL', 'REP_LLAMA']) {
    for (const y of ['dl19', 'dl20']) assert.ok(manifest.files.includes(`${r}.${y}.json`), `${r}.${y}`);
  }
  assert.ok(manifest.files.includes('synthetic.json'));
});

for (const file of manifest.files) {
  const fixture = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Fixture;
  // The fixtures name their inputs as the reference script saw them, from the repository: "../shared/data/..."
  // for the real runs (skipped where ../shared is absent), a path inside the repository for the synthetic one.
  const SHARED_PREFIX = '../shared/data/';
  const where = (path: string): { path: string; skip: string | false } =>
    path.startsWith(SHARED_PREFIX)
      ? { path: sharedFile(...path.slice(SHARED_PREFIX.length).split('/')), skip: skipWithoutShared(...path.slice(SHARED_PREFIX.length).split('/')) }
      : { path: join(REPO, path), skip: false };
  const qrels = where(fixture.qrels);
  const runFile = where(fixture.run);
  const qrelsPath = qrels.path;
  const runPath = runFile.path;
  const skip = qrels.skip || runFile.skip;
  test(`parity: ${fixture.case} matches pytrec_eval and the sentence-transformers evaluator`, { skip }, async () => {
    const qrels = await readTrecQrels(qrelsPath);
    const run = await readTrecRun(runPath);
    for (const block of fixture.trec) {
      const r = trecEval(qrels, run, { relevanceLevel: block.relevance_level, measures: block.measures });
      compare(`trec_eval level ${block.relevance_level}`, block, r.perQuery, r.summary);
    }
    for (const block of fixture.st) {
      const k = block.k as number[];
      const r = stIrEvaluate(qrels, run, {
        relevanceLevel: block.relevance_level,
        accuracyAtK: k,
        precisionRecallAtK: k,
        mrrAtK: k,
        ndcgAtK: k,
        mapAtK: k,
      });
      assert.deepEqual(r.measures.slice().sort(), block.measures.slice().sort());
      compare(`sentence-transformers level ${block.relevance_level}`, block, r.perQuery, r.summary);
    }
  });
}

test('parity totals', (t) => {
  t.diagnostic(`${compared} values compared (per query and means), max |diff| ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff <= TOLERANCE);
});
