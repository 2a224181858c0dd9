import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { rerankCandidates, rerankRun, type RerankEncoder } from './rerank.js';
import { readCandidateLists } from '../corpus/candidates.js';
import { toRun } from '../eval/run.js';
import { evaluateRun } from '../eval/report.js';
import { readTrecQrels } from '../eval/qrels.js';
import { WarningTally } from '../corpus/warnings.js';
import { Matrix } from '../tensor/matrix.js';
import { cosSim } from '../score/similarity.js';
import { loadModelFromDir } from '../encoder/load-model.js';
import { isSemsearchError } from '../errors.js';
import { sharedFile, skipWithoutShared } from '../test-support/files.js';

/** A stand-in bi-encoder: letter counts, so similar texts get similar vectors; it records every call. */
function letterEncoder(): RerankEncoder & { calls: string[][] } {
  const calls: string[][] = [];
  const embed = (t: string): number[] => {
    const v = new Array<number>(26).fill(0);
    for (const ch of t.toLowerCase()) {
      const c = ch.charCodeAt(0) - 97;
      if (c >= 0 && c < 26) v[c] = (v[c] as number) + 1;
    }
    return v;
  };
  return {
    calls,
    encode: async (texts) => {
      calls.push(texts);
      return Matrix.fromRows(texts.map(embed));
    },
  };
}

test('rerankRun scores each candidate against its query and sorts by the new score; texts are encoded once', async () => {
  const enc = letterEncoder();
  const queries = new Map([['q1', 'apple pie'], ['q2', 'zebra zoo']]);
  const passages = new Map([['a', 'a zebra in a zoo'], ['b', 'apple pie recipe'], ['c', 'pear tart']]);
  const run = toRun({ q1: { a: 3, c: 2, b: 1 }, q2: { b: 3, a: 2 } });
  const out = await rerankRun(enc, run, { queries, passages, encodeChunk: 2 });
  for (const [qid, list] of out) {
    assert.deepEqual([...list.docids].sort(), [...(run.get(qid)?.docids ?? [])].sort());
    const qv = await letterEncoder().encode([queries.get(qid) as string]);
    const dv = await letterEncoder().encode(list.docids.map((d) => passages.get(d) as string));
    assert.deepEqual(list.scores, Array.from(cosSim(qv, dv).row(0)));
    for (let i = 1; i < list.scores.length; i++) assert.ok((list.scores[i - 1] as number) >= (list.scores[i] as number));
  }
  assert.equal(out.get('q1')?.docids[0], 'b');
  assert.equal(out.get('q2')?.docids[0], 'a');
  // Two queries, three distinct passages, chunks of two: every text exactly once.
  assert.deepEqual(enc.calls.flat().sort(), ['a zebra in a zoo', 'apple pie', 'apple pie recipe', 'pear tart', 'zebra zoo'].sort());
  assert.ok(enc.calls.every((c) => c.length <= 2));
});

test('rerankRun: documents without text are an error, or dropped and counted', async () => {
  const enc = letterEncoder();
  const run = toRun({ q: { a: 1, gone: 2 } });
  const queries = new Map([['q', 'x']]);
  const passages = new Map([['a', 'text']]);
  await assert.rejects(rerankRun(enc, run, { queries, passages }), (e) => isSemsearchError(e, 'MISSING_TEXT'));
  await assert.rejects(rerankRun(enc, run, { queries: new Map(), passages }), (e) => isSemsearchError(e, 'MISSING_TEXT') && e.field === 'queries');
  const tally = new WarningTally();
  const out = await rerankRun(enc, run, { queries, passages, missingText: 'drop', onWarning: tally.add });
  assert.deepEqual(out.get('q')?.docids, ['a']);
  assert.equal(tally.count('DOCUMENT_WITHOUT_TEXT'), 1);
});

const MODEL = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const CANDS = ['msmarco-passage-trec-dl-candidates', 'BM25', 'retrieve_results_dl19.json'];

test('rerankCandidates with a loaded SentenceTransformer scores like model.similarity, and the result evaluates', { skip: skipWithoutShared(...CANDS) }, async () => {
  const model = await loadModelFromDir(MODEL);
  try {
    const lists = (await readCandidateLists(sharedFile(...CANDS))).slice(0, 2).map((l) => ({ ...l, hits: l.hits.slice(0, 8) }));
    const run = await rerankCandidates(model, lists, { encodeChunk: 5 });
    for (const l of lists) {
      const got = run.get(l.qid);
      assert.ok(got !== undefined);
      const q = await model.encodeQuery([l.query]);
      const docs = await model.encodeDocument(got.docids.map((d) => l.hits.find((h) => h.docid === d)?.content as string));
      const want = Array.from(model.similarity(q, docs).row(0));
      got.scores.forEach((s, i) => assert.ok(Math.abs(s - (want[i] as number)) < 1e-5, `${l.qid} ${got.docids[i]}`));
    }
    const qrels = await readTrecQrels(sharedFile('msmarco-passage-topics-qrels', 'qrels.dl19-passage.txt'));
    const report = evaluateRun(qrels, run, { relevanceLevel: 2, queries: new Set(lists.map((l) => l.qid)) });
    assert.equal(report.counts.trecEvaluated, 2);
  } finally {
    await model.dispose();
  }
});
