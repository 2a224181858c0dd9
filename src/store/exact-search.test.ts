import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRows } from '../encoder/normalize.js';
import { Matrix } from '../tensor/matrix.js';
import { rangesOf } from '../tensor/quantize.js';
import { exactSearch, scoreRows } from './exact-search.js';
import { encodeShard } from './shards.js';
import { TopK } from './top-k.js';
import { gaussian } from '../test-support/vectors.js';

test('TopK keeps the k best, best first, lower row first on equal scores', () => {
  const t = new TopK(3);
  for (const [s, r] of [[0.5, 4], [0.9, 7], [0.5, 2], [0.1, 0], [0.9, 1], [0.7, 3]] as const) t.push(s, r);
  assert.deepEqual(t.sorted(), [{ row: 1, score: 0.9 }, { row: 7, score: 0.9 }, { row: 3, score: 0.7 }]);
});

test('int8 scoring against bucket centres and binary search with rescoring keep recall@10 high', () => {
  const dim = 384;
  const corpus = gaussian(3000, dim, 1);
  const queries = new Matrix(20, dim, Float32Array.from(corpus.data.subarray(0, 20 * dim)));
  // Queries near (not at) corpus rows, as a question near its passage.
  const noise = gaussian(20, dim, 2);
  for (let i = 0; i < queries.data.length; i++) queries.data[i] = (queries.data[i] as number) + 0.8 * (noise.data[i] as number);
  normalizeRows(queries);
  const ranges = rangesOf(corpus);
  const shards = [corpus.slice(0, 1000), corpus.slice(1000, 3000)];
  const run = (precision: 'float32' | 'int8' | 'binary') =>
    exactSearch(
      queries,
      shards.map((s) => encodeShard(new Matrix(s.rows, dim, Float32Array.from(s.data)), precision, ranges)),
      { k: 10, dim, precision, ranges },
    );
  const truth = run('float32');
  const int8 = run('int8');
  let found = 0;
  int8.forEach((h, i) => (found += h.filter((x) => truth[i]?.some((t) => t.row === x.row)).length));
  assert.ok(found / 200 >= 0.95, `int8 recall@10 against float32 ${found / 200}`);
  // Isotropic vectors have no meaningful second neighbours, so binary is judged on what retrieval needs: the
  // passage a query was made from is among its 10 hits after hamming search and int8 rescoring.
  const binary = run('binary');
  const hitsOwn = binary.filter((h, i) => h.some((x) => x.row === i)).length;
  assert.ok(hitsOwn >= 19, `binary found the source row for ${hitsOwn}/20 queries`);
  binary.forEach((h) => h.forEach((x, j) => j > 0 && assert.ok(x.score <= (h[j - 1] as { score: number }).score)));
  // Each query's own source row is its best float32 hit.
  truth.forEach((h, i) => assert.equal(h[0]?.row, i));
});

test('exact search on worker threads returns what one thread returns (binary: at least as good)', async () => {
  const { ParallelSearcher } = await import('./parallel-search.js');
  const dim = 64;
  const corpus = gaussian(5000, dim, 7);
  const queries = gaussian(6, dim, 8);
  const ranges = rangesOf(corpus);
  for (const precision of ['float32', 'float16', 'int8', 'binary'] as const) {
    const shards = [0, 1200, 2600, 4100].map((start, i, a) => {
      const part = corpus.slice(start, a[i + 1] ?? corpus.rows);
      const enc = encodeShard(new Matrix(part.rows, dim, Float32Array.from(part.data)), precision, ranges);
      // Shared memory, as readShard gives, so the workers read the same bytes.
      const copy = (x: Float32Array | Uint16Array | Int8Array | Uint8Array) => {
        const sab = new SharedArrayBuffer(x.byteLength);
        new Uint8Array(sab).set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
        return new (x.constructor as new (b: SharedArrayBuffer) => typeof x)(sab);
      };
      return { rows: enc.rows, data: copy(enc.data), ...(enc.rescore !== undefined ? { rescore: copy(enc.rescore) as Int8Array } : {}) };
    });
    const options = { k: 7, dim, precision, ranges };
    const one = exactSearch(queries, shards, options);
    const pool = new ParallelSearcher(shards, 2);
    assert.equal(pool.threads, 2);
    const two = await pool.search(queries, options);
    await pool.close();
    if (precision !== 'binary') assert.deepEqual(two, one, precision);
    else {
      // Each worker keeps its own hamming candidates: a superset of the single thread's, so after rescoring
      // every rank scores at least as well.
      two.forEach((h, i) => h.forEach((x, j) => assert.ok(x.score >= (one[i]?.[j]?.score as number) - 1e-12, `binary query ${i} rank ${j}`)));
    }
  }
});

test('binary hamming distances are the same whether rows are read as words or as bytes', () => {
  const dim = 96;
  const m = gaussian(500, dim, 11);
  const enc = encodeShard(m, 'binary', rangesOf(m));
  // A copy at an odd byte offset forces the byte-at-a-time path.
  const odd = new Uint8Array(enc.data.length + 1).subarray(1);
  odd.set(enc.data);
  const q = gaussian(4, dim, 12);
  const o = { k: 20, dim, precision: 'binary' as const, rescore: false };
  assert.deepEqual(exactSearch(q, [{ rows: enc.rows, data: odd }], o), exactSearch(q, [{ rows: enc.rows, data: enc.data }], o));
});

test('scoreRows scores any rows, in any order and number, bit for bit as the row-at-a-time JS scan does', () => {
  const dim = 48;
  const corpus = gaussian(301, dim, 7);
  normalizeRows(corpus);
  const queries = gaussian(6, dim, 8);
  const ranges = rangesOf(corpus);
  // Uneven shards, so rows of one group of four come from different shards.
  const cuts = [0, 37, 200, 301];
  let seed = 99;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  for (const precision of ['float32', 'float16', 'int8'] as const) {
    const shards = cuts.slice(1).map((end, i) => encodeShard(new Matrix(end - (cuts[i] as number), dim, corpus.data.slice((cuts[i] as number) * dim, end * dim)), precision, ranges));
    const o = { dim, precision, ranges };
    for (let qi = 0; qi < queries.rows; qi++) {
      const q = queries.row(qi);
      // k = every row: the JS scan's score of each row, one row at a time (shards outside kernel memory scan in JS).
      const all = new Map(exactSearch(new Matrix(1, dim, q), shards, { ...o, k: corpus.rows })[0]?.map((h) => [h.row, h.score]));
      assert.equal(all.size, corpus.rows);
      for (const n of [0, 1, 3, 4, 5, 7, 8, 9, 64, 301]) {
        const rows = Array.from({ length: n }, () => rnd(corpus.rows));
        const got = scoreRows(q, rows, shards, o);
        assert.equal(got.length, n);
        for (const h of got) assert.ok(Object.is(h.score, all.get(h.row)), `${precision} row ${h.row}: ${h.score} vs ${all.get(h.row)}`);
        for (let j = 1; j < got.length; j++) {
          const a = got[j - 1] as { row: number; score: number };
          const b = got[j] as { row: number; score: number };
          assert.ok(a.score > b.score || (a.score === b.score && a.row <= b.row), 'best first, lower row first on equal scores');
        }
        assert.deepEqual(got.map((h) => h.row).sort((x, y) => x - y), [...rows].sort((x, y) => x - y));
      }
    }
  }
});
