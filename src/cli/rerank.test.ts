// Retrieve, then re-rank, on the command line: `semsearch search --cross-encoder` and `semsearch eval --cross-encoder`,
// against what the library computes with the same cross-encoder.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCrossEncoderFromDir, type CrossEncoder } from '../encoder/cross-encoder.js';
import { materializeCrossEncoder } from '../encoder/test-support/fixtures.js';
import { crossRerankRun } from '../rerank/cross-rerank.js';
import { readJudgments } from '../eval/judgments.js';
import { evaluateRun } from '../eval/report.js';
import { readTrecRun } from '../eval/run.js';
import { buildIndex } from '../store/build-index.js';
import { rerankHits } from '../rerank/rerank-hits.js';
import { openIndex } from '../store/search-index.js';
import { sharedFile, skipWithoutShared } from '../test-support/files.js';
import { runCaptured, type CliRun } from './test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const SUBSET = ['msmarco-passage-dl19-relevant-subset', 'collection.tsv'];
const run = (argv: string[]): Promise<CliRun> => runCaptured(argv);
const QUERIES: [string, string][] = [
  ['q1', 'what is a hurricane'],
  ['q2', 'how long is the flu contagious'],
  ['q3', 'jamaica weather in december'],
];

describe('re-ranking with a cross-encoder on the command line', { skip: skipWithoutShared(...SUBSET) }, () => {
  let dir: string;
  let ce: { dir: string; cleanup: () => void };
  let model: CrossEncoder;
  let ids: string[];
  const files = { corpus: '', queries: '', qrels: '', run: '', index: '' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-cli-rerank-'));
    ce = materializeCrossEncoder('bert-1');
    model = await loadCrossEncoderFromDir(ce.dir, { workers: 1 });
    const lines = readFileSync(sharedFile(...SUBSET), 'utf8').split('\n').slice(0, 120);
    ids = lines.map((l) => l.slice(0, l.indexOf('\t')));
    files.corpus = join(dir, 'c.tsv');
    writeFileSync(files.corpus, lines.join('\n') + '\n');
    files.queries = join(dir, 'q.tsv');
    writeFileSync(files.queries, QUERIES.map(([q, t]) => `${q}\t${t}\n`).join(''));
    // Judgments and a first-stage run of 30 candidates per query, both made up over real passages.
    files.qrels = join(dir, 'qrels.txt');
    writeFileSync(files.qrels, QUERIES.flatMap(([q], qi) => [0, 1, 2, 3, 4].map((j) => `${q} 0 ${ids[qi * 7 + j * 5]} ${j % 3 + 1}\n`)).join(''));
    files.run = join(dir, 'run.txt');
    writeFileSync(files.run, QUERIES.flatMap(([q], qi) => Array.from({ length: 30 }, (_, r) => `${q} Q0 ${ids[(qi * 11 + r * 3) % ids.length]} ${r + 1} ${(30 - r) / 10} bm25\n`)).join(''));
    files.index = join(dir, 'idx');
    await buildIndex({ corpus: files.corpus, out: files.index, model: BERT, shardSize: 50 });
  });
  after(async () => {
    await model?.dispose();
    ce?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('search --cross-encoder: the index\'s top --rerank-depth re-scored by the cross-encoder, as the library does', async () => {
    const r = await run(['search', files.index, QUERIES[0]?.[1] as string, '-k', '3', '--cross-encoder', ce.dir, '--rerank-depth', '25', '--json']);
    assert.equal(r.code, 0, r.err);
    const got = JSON.parse(r.out) as { hits: { id: string; score: number; retrievalScore: number }[] };
    const index = await openIndex(files.index);
    const want = await rerankHits(model, [QUERIES[0]?.[1] as string], await index.search([QUERIES[0]?.[1] as string], 25), { k: 3 });
    await index.close();
    assert.deepEqual(
      got.hits.map((h) => [h.id, h.retrievalScore]),
      (want[0] ?? []).map((h) => [h.id, h.retrievalScore]),
    );
    got.hits.forEach((h, i) => assert.ok(Math.abs(h.score - (want[0]?.[i]?.score ?? NaN)) < 1e-6));
    const three = materializeCrossEncoder('bert-3');
    try {
      const refused = await run(['search', files.index, 'x', '--rerank', three.dir]);
      assert.equal(refused.code, 1);
      assert.match(refused.err, /UNSUPPORTED_MODEL: --cross-encoder needs a cross-encoder with one output/);
      // The old spelling still works, with a one-line hint first.
      assert.match(refused.err, /^semsearch search: --rerank is deprecated; use --cross-encoder\n/);
    } finally {
      three.cleanup();
    }
    const orphan = await run(['search', files.index, 'x', '--rerank-depth', '5']);
    assert.equal(orphan.code, 2);
    assert.match(orphan.err, /--rerank-depth is the depth of --cross-encoder/);
  });

  test("eval --cross-encoder (old spelling --rerank-with) without a bi-encoder re-ranks the run's own top, scored as the library scores it", async () => {
    const runOut = join(dir, 'ce.run');
    const r = await run(['eval', '--candidates', files.run, '--corpus', files.corpus, '--queries', files.queries, '--qrels', files.qrels, '--rerank-with', ce.dir, '--rerank-depth', '10', '-o', runOut, '--json']);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { summary: Record<string, number>; firstStageSummary: Record<string, number>; timings: { pairs: number }; depth: number };
    assert.match(r.err, /^semsearch eval: --rerank-with is deprecated; use --cross-encoder$/m);
    assert.equal(out.depth, 10);
    assert.equal(out.timings.pairs, 30);
    assert.ok((out.firstStageSummary['NDCG@10'] as number) > 0, 'some judged passages are in the first stage');
    const first = await readTrecRun(files.run);
    const texts = new Map(readFileSync(files.corpus, 'utf8').split('\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf('\t')), l.slice(l.indexOf('\t') + 1)] as [string, string]));
    const queries = new Map(QUERIES);
    const want = await crossRerankRun(model, first, { queries, text: (d) => texts.get(d), depth: 10 });
    const qrels = await readJudgments(files.qrels);
    const qrelsReport = (x: typeof first) => evaluateRun(qrels, x, { relevanceLevel: 1, queries });
    assert.ok(Math.abs((out.summary['NDCG@10'] as number) - (qrelsReport(want).trec.summary['ndcg_cut_10'] as number)) < 1e-9);
    assert.ok(Math.abs((out.firstStageSummary['NDCG@10'] as number) - (qrelsReport(first).trec.summary['ndcg_cut_10'] as number)) < 1e-9);
    const written = await readTrecRun(runOut);
    assert.deepEqual([...written.entries()].map(([q, l]) => [q, l.docids]), [...want.entries()].map(([q, l]) => [q, l.docids]));
  });

  test('eval -m … --cross-encoder: the bi-encoder retrieves (corpus or index), the cross-encoder re-ranks its top', async () => {
    const base = ['eval', '-m', BERT, '--queries', files.queries, '--qrels', files.qrels, '--json'];
    for (const source of [['--corpus', files.corpus], ['--index', files.index]]) {
      const plain = await run([...base, ...source]);
      assert.equal(plain.code, 0, plain.err);
      const reranked = await run([...base, ...source, '--cross-encoder', ce.dir, '--rerank-depth', '15']);
      assert.equal(reranked.code, 0, reranked.err);
      const p = JSON.parse(plain.out) as { summary: Record<string, number> };
      const c = JSON.parse(reranked.out) as { firstStageSummary: Record<string, number>; summary: Record<string, number>; timings: { pairs: number } };
      assert.deepEqual(c.firstStageSummary, p.summary, `${source[0]}: the first stage is the plain evaluation`);
      assert.equal(c.timings.pairs, 45, `${source[0]}: 15 pairs for each of 3 queries`);
    }
    const noRun = await run(['eval', '--corpus', files.corpus, '--queries', files.queries, '--qrels', files.qrels, '--cross-encoder', ce.dir]);
    assert.equal(noRun.code, 2);
    assert.match(noRun.err, /--cross-encoder without -m re-ranks a first-stage run/);
    const orphan = await run([...base, '--corpus', files.corpus, '--rerank-depth', '5']);
    assert.equal(orphan.code, 2);
  });
});
