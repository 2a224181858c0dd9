import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isSemsearchError } from '../errors.js';
import { cosSim } from '../score/similarity.js';
import { Matrix } from '../tensor/matrix.js';
import { toQrels } from './qrels.js';
import { evaluateRun } from './report.js';
import { retrieve, retrieveRun, type RetrieveEncoder } from './retrieve.js';
import type { RankedList } from './run.js';
import { stRanking } from './st-metrics.js';

interface Fixture {
  doc_ids: string[];
  doc_vectors: number[][];
  query_ids: string[];
  query_vectors: number[][];
  relevant: Record<string, string[]>;
  cases: {
    name: string;
    corpus_chunk_size: number;
    k: { mrr_at_k?: number[]; ndcg_at_k?: number[]; accuracy_at_k?: number[]; precision_recall_at_k?: number[]; map_at_k?: number[] };
    rankings: Record<string, string[]>;
    metrics: Record<string, number>;
  }[];
  semantic_search_top20: Record<string, [string, number][]>;
}

const fx = JSON.parse(readFileSync(new URL('./fixtures/retrieve/ties.json', import.meta.url), 'utf8')) as Fixture;

/** An "encoder" that maps each text (an id here) to its fixture vector, counting its calls. */
function fixtureEncoder(): RetrieveEncoder & { calls: number[] } {
  const vec = new Map<string, number[]>();
  fx.doc_ids.forEach((d, i) => vec.set(d, fx.doc_vectors[i] as number[]));
  fx.query_ids.forEach((q, i) => vec.set(q, fx.query_vectors[i] as number[]));
  const calls: number[] = [];
  return {
    calls,
    encode: async (texts: string[]) => {
      calls.push(texts.length);
      return Matrix.fromRows(texts.map((t) => vec.get(t) as number[]));
    },
  };
}

const corpus = new Map(fx.doc_ids.map((d) => [d, d]));
const queries = new Map(fx.query_ids.map((q) => [q, q]));
const qrels = toQrels(Object.fromEntries(Object.entries(fx.relevant).map(([q, ds]) => [q, Object.fromEntries(ds.map((d) => [d, 1]))])));

test('retrieve: the evaluator hits give InformationRetrievalEvaluator exactly where every score ties (its rankings and metrics)', async () => {
  let replayDiffers = 0;
  for (const c of fx.cases) {
    const st = {
      ...(c.k.accuracy_at_k ? { accuracyAtK: c.k.accuracy_at_k } : {}),
      ...(c.k.precision_recall_at_k ? { precisionRecallAtK: c.k.precision_recall_at_k } : {}),
      ...(c.k.mrr_at_k ? { mrrAtK: c.k.mrr_at_k } : {}),
      ...(c.k.ndcg_at_k ? { ndcgAtK: c.k.ndcg_at_k } : {}),
      ...(c.k.map_at_k ? { mapAtK: c.k.map_at_k } : {}),
    };
    const maxK = Math.max(...Object.values(c.k).flat(), ...(Object.keys(c.k).length === 0 ? [100] : []));
    const { run, evaluatorRun } = await retrieve(fixtureEncoder(), corpus, queries, { corpusChunkSize: c.corpus_chunk_size, evaluatorTopK: maxK, depth: 100 });
    for (const [qid, ranking] of Object.entries(c.rankings)) {
      const list = run.get(qid) as RankedList;
      const own = evaluatorRun.get(qid) as RankedList;
      assert.deepEqual(stRanking(own, maxK), ranking, `${c.name} ${qid}`);
      // Replaying the best-first run instead can differ where a hit the evaluator never saw ties with its k-th.
      if (stRanking(list, maxK).join() !== ranking.join()) replayDiffers++;
    }
    const report = evaluateRun(qrels, run, { relevanceLevel: 1, st, queries, stRun: evaluatorRun });
    for (const [m, v] of Object.entries(c.metrics)) assert.ok(Math.abs((report.st.summary[m] as number) - v) < 1e-12, `${c.name} ${m}`);
    assert.equal(report.counts.stEvaluated, Object.keys(c.rankings).length);
  }
  // The fixture hits that corner (duplicate passages tie on four distinct scores), which is why evaluatorRun exists.
  assert.ok(replayDiffers > 0);
});

test('retrieveRun: each list is util.semantic_search\'s top `depth`, in its order, with its scores', async () => {
  const run = await retrieveRun(fixtureEncoder(), corpus, queries, { depth: 20, evaluatorTopK: 7 });
  assert.equal(run.size, Object.keys(fx.semantic_search_top20).length);
  for (const [qid, top] of Object.entries(fx.semantic_search_top20)) {
    const list = run.get(qid) as { docids: string[]; scores: number[] };
    assert.deepEqual(list.docids, top.map(([d]) => d), qid);
    assert.deepEqual(list.scores, top.map(([, s]) => s), qid);
    // Best first, so the rank column of a written run file reads as the ranking.
    for (let i = 1; i < list.scores.length; i++) assert.ok((list.scores[i - 1] as number) >= (list.scores[i] as number));
  }
});

test('retrieveRun encodes each evaluator chunk in one call, and uses encodeQuery/encodeDocument and similarity when present', async () => {
  const enc = fixtureEncoder();
  await retrieveRun(enc, corpus, queries, { corpusChunkSize: 25, depth: 5 });
  assert.deepEqual(enc.calls, [8, 25, 25, 10]);
  const seen: string[] = [];
  const base = fixtureEncoder();
  const prompted: RetrieveEncoder = {
    encode: () => Promise.reject(new Error('encode must not be called when encodeQuery/encodeDocument exist')),
    encodeQuery: (t) => (seen.push('q'), base.encode(t)),
    encodeDocument: (t) => (seen.push('d'), base.encode(t)),
    // A similarity that reverses cosine: the best hit becomes the worst.
    similarity: (a, b) => {
      const m = cosSim(a, b);
      return new Matrix(m.rows, m.dim, m.data.map((x) => -x));
    },
  };
  const run = await retrieveRun(prompted, corpus, queries, { depth: 3 });
  assert.deepEqual(seen, ['q', 'd']);
  const normal = await retrieveRun(fixtureEncoder(), corpus, queries, { depth: 60 });
  const q0 = normal.get('q0') as { scores: number[] };
  assert.equal((run.get('q0') as { scores: number[] }).scores[0], -Math.min(...q0.scores));
});

test('retrieveRun refuses bad options and empty inputs with codes', async () => {
  const enc = fixtureEncoder();
  await assert.rejects(retrieveRun(enc, corpus, queries, { depth: 0 }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'depth');
  await assert.rejects(retrieveRun(enc, corpus, queries, { corpusChunkSize: 1.5 }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'));
  await assert.rejects(retrieveRun(enc, new Map(), queries), (e) => isSemsearchError(e, 'EMPTY_INPUT') && e.field === 'corpus');
  await assert.rejects(retrieveRun(enc, corpus, new Map()), (e) => isSemsearchError(e, 'EMPTY_INPUT') && e.field === 'queries');
  const wrongDim: RetrieveEncoder = {
    encode: async (t) => new Matrix(t.length, 3),
    encodeQuery: async (t) => new Matrix(t.length, 4),
  };
  await assert.rejects(retrieveRun(wrongDim, corpus, queries), (e) => isSemsearchError(e, 'SHAPE_MISMATCH'));
});
