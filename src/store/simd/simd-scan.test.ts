import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromFloat16Bits, toFloat16Bits } from '../../tensor/float16.js';
import { Matrix } from '../../tensor/matrix.js';
import { rangesOf } from '../../tensor/quantize.js';
import { exactSearch, rowBitset, scoreRows, type ExactSearchOptions } from '../exact-search.js';
import type { IndexPrecision } from '../manifest.js';
import { ParallelSearcher } from '../parallel-search.js';
import { encodeShard, readShard, SHARD_DIR, writeShard, type ShardVectors } from '../shards.js';
import { simdReady, simdTopK } from './simd-scan.js';
import { allocVectorMemory, kernelsFor, SCRATCH, SCRATCH_BYTES, tryLock, unlock } from './vector-memory.js';
import { gaussian } from '../../test-support/vectors.js';

/** Shards written and read back as an index holds them: in kernel memory. */
function loadedShards(dir: string, parts: Matrix[], precision: IndexPrecision, ranges: ReturnType<typeof rangesOf>): ShardVectors[] {
  mkdirSync(join(dir, SHARD_DIR), { recursive: true });
  return parts.map((m, n) => readShard(dir, writeShard(dir, n, precision, encodeShard(m, precision, ranges)), precision, m.dim, true));
}

/** The same rows without their kernel memory: exactSearch then takes the JS scan, the reference. */
function jsOnly(shards: readonly ShardVectors[]): ShardVectors[] {
  return shards.map((s) => ({ rows: s.rows, data: s.data, ...(s.rescore !== undefined ? { rescore: s.rescore } : {}) }));
}

test('the committed kernel bytes are the assembled kernels.wat', async () => {
  const { assembleKernels } = (await import(new URL('../../../scripts/build-kernels.mjs', import.meta.url).href)) as { assembleKernels: () => Promise<string> };
  assert.equal(readFileSync(new URL('./kernels-wasm.ts', import.meta.url), 'utf8'), await assembleKernels(), 'run node scripts/build-kernels.mjs');
});

test('the float16 kernel decodes every finite half exactly, subnormals and signed zeros included', () => {
  const finite: number[] = [];
  for (let h = 0; h < 65536; h++) if (((h >> 10) & 0x1f) !== 0x1f) finite.push(h);
  // One row of 16 halves per finite value, the value in lane 0: a query e0 reads it back through the kernel.
  const rows = Math.floor(finite.length / 4);
  const mem = allocVectorMemory(rows * 32);
  assert.ok(mem, 'this runtime has WebAssembly SIMD and shared memory');
  const k = kernelsFor(mem.memory);
  assert.ok(k);
  const halves = new Uint16Array(mem.memory.buffer, SCRATCH_BYTES, rows * 16);
  const q = new Float32Array(mem.memory.buffer, SCRATCH.queries, 16);
  q.fill(0);
  q[0] = 1;
  new Float32Array(mem.memory.buffer, SCRATCH.thresholds, 1)[0] = Number.NEGATIVE_INFINITY;
  const outI = new Int32Array(mem.memory.buffer, SCRATCH.out, rows * 3);
  const outF = new Float32Array(mem.memory.buffer, SCRATCH.out, rows * 3);
  for (let part = 0; part < 4; part++) {
    const vals = finite.slice(part * rows, (part + 1) * rows);
    halves.fill(0);
    vals.forEach((h, r) => (halves[r * 16] = h));
    assert.equal(k.scan_f16(SCRATCH.queries, 1, SCRATCH_BYTES, vals.length, 16, SCRATCH.thresholds, SCRATCH.out), vals.length);
    vals.forEach((h, r) => {
      assert.equal(outI[3 * r + 1], r);
      assert.ok(Object.is(outF[3 * r + 2], fromFloat16Bits(h)) || (h === 0x8000 && outF[3 * r + 2] === 0), `half 0x${h.toString(16)}`);
    });
  }
  assert.equal(toFloat16Bits(fromFloat16Bits(0x0001)), 0x0001);
});

test('SIMD exact search gives the JS scan hits, order and scores bit for bit, for every precision', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-simd-'));
  try {
    const dim = 384;
    const corpus = gaussian(5000, dim, 7);
    // Exact duplicates and rows one float32 step apart: ties and near-ties at the k-th place force the retry path.
    for (let r = 100; r < 140; r++) corpus.data.copyWithin(r * dim, 42 * dim, 43 * dim);
    for (let r = 140; r < 150; r++) {
      corpus.data.copyWithin(r * dim, 42 * dim, 43 * dim);
      const i = r * dim + (r % dim);
      corpus.data[i] = new Float32Array([corpus.data[i] as number + 2 ** -23 * (r % 3 === 0 ? 1 : -1)])[0] as number;
    }
    const queries = new Matrix(12, dim, Float32Array.from(gaussian(12, dim, 8).data));
    queries.data.set(corpus.row(42), 0);
    queries.data.set(corpus.row(3000), dim);
    const ranges = rangesOf(corpus);
    // Odd shard sizes: the one-query binary kernel takes rows four at a time and leaves a tail to the general one.
    const parts = [corpus.slice(0, 1701), corpus.slice(1701, 3403), corpus.slice(3403, 5000)];
    for (const precision of ['float32', 'float16', 'int8', 'binary'] as const) {
      const shards = loadedShards(join(dir, precision), parts, precision, ranges);
      const kind = { float32: 'f32', float16: 'f16', int8: 'i8', binary: 'b1' } as const;
      assert.ok(simdReady(shards, kind[precision], dim), `${precision} shards load into kernel memory`);
      for (const k of [1, 10, 60]) {
        const o: ExactSearchOptions = { k, precision, dim, ranges };
        const simd = exactSearch(queries, shards, o);
        const js = exactSearch(queries, jsOnly(shards), o);
        assert.deepEqual(simd, js, `${precision}, k=${k}`);
        assert.equal(simd[0]?.length, k);
        // One query at a time takes the single-query kernels.
        for (let qi = 0; qi < queries.rows; qi++) {
          assert.deepEqual(exactSearch(new Matrix(1, dim, queries.row(qi)), shards, o), [js[qi]], `${precision}, k=${k}, query ${qi} alone`);
        }
      }
      if (precision === 'float32') {
        const hits = exactSearch(queries, shards, { k: 60, precision, dim })[0] ?? [];
        assert.deepEqual(hits.slice(0, 41).map((h) => h.row), [42, ...Array.from({ length: 40 }, (_, i) => 100 + i)], 'duplicates tie by row');
      }
      // A busy scratch area (another thread scanning this shard) falls back to the JS scan, same answer.
      const memory = shards[1]?.memory;
      assert.ok(memory !== undefined && tryLock(memory));
      try {
        assert.deepEqual(exactSearch(queries, shards, { k: 10, precision, dim, ranges }), exactSearch(queries, jsOnly(shards), { k: 10, precision, dim, ranges }));
      } finally {
        unlock(memory);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rows left out (deleted, or refused by a filter) are skipped exactly: SIMD, JS and workers give the hits of the allowed rows alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-simd-skip-'));
  try {
    const dim = 128;
    const corpus = gaussian(4000, dim, 11);
    const queries = new Matrix(6, dim, Float32Array.from(gaussian(6, dim, 12).data));
    // The queries' best rows are among those skipped: the kernels' first candidates are mostly refused.
    queries.data.set(corpus.row(7), 0);
    queries.data.set(corpus.row(3999), dim);
    const ranges = rangesOf(corpus);
    const parts = [corpus.slice(0, 1500), corpus.slice(1500, 4000)];
    for (const share of [0.05, 0.6, 0.97]) {
      let x = 99;
      const out: number[] = [];
      for (let r = 0; r < corpus.rows; r++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        if (r === 7 || r === 3999 || x / 4294967296 < share) out.push(r);
      }
      const skip = rowBitset(corpus.rows, out);
      const keep = Array.from({ length: corpus.rows }, (_, r) => r).filter((r) => !out.includes(r));
      for (const precision of ['float32', 'float16', 'int8', 'binary'] as const) {
        const shards = loadedShards(join(dir, `${precision}-${share}`), parts, precision, ranges);
        // The reference: the allowed rows alone, as their own index, numbered back.
        const allowed = new Matrix(keep.length, dim);
        keep.forEach((r, i) => allowed.data.set(corpus.row(r), i * dim));
        const refShards = jsOnly([encodeShard(allowed, precision, ranges)]);
        const o: ExactSearchOptions = { k: 10, precision, dim, ranges, rescoreMultiplier: 8 };
        const want = exactSearch(queries, refShards, o).map((hits) => hits.map((h) => ({ row: keep[h.row] as number, score: h.score })));
        const so = { ...o, skip, skipCount: out.length };
        assert.deepEqual(exactSearch(queries, shards, so), want, `${precision}, ${share} skipped, SIMD`);
        assert.deepEqual(exactSearch(queries, jsOnly(shards), so), want, `${precision}, ${share} skipped, JS`);
        const pool = new ParallelSearcher(shards, 2);
        try {
          assert.deepEqual(await pool.search(queries, so), want, `${precision}, ${share} skipped, workers`);
        } finally {
          await pool.close();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the kernels keep the right candidates with many queries at once (the matrix-product path)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-simd-'));
  try {
    const dim = 64;
    const corpus = gaussian(3000, dim, 11);
    const shards = loadedShards(dir, [corpus.slice(0, 1000), corpus.slice(1000, 3000)], 'float32', rangesOf(corpus));
    const queries = gaussian(300, dim, 12);
    const tops = simdTopK('f32', Array.from({ length: queries.rows }, (_, i) => queries.row(i)), undefined, shards, dim, 5);
    assert.ok(tops);
    const ref = exactSearch(queries, jsOnly(shards), { k: 5, precision: 'float32', dim });
    tops.forEach((t, qi) => assert.deepEqual(t.sorted().map((h) => h.row), (ref[qi] ?? []).map((h) => h.row), `query ${qi}`));
    assert.deepEqual(exactSearch(queries, shards, { k: 5, precision: 'float32', dim }), ref);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('search workers scan the same kernel memory (posted, not copied) and agree with one thread', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-simd-'));
  const dim = 128;
  const corpus = gaussian(4000, dim, 21);
  const shards = loadedShards(dir, [corpus.slice(0, 1500), corpus.slice(1500, 2500), corpus.slice(2500, 4000)], 'float32', rangesOf(corpus));
  const pool = new ParallelSearcher(shards, 2);
  try {
    const queries = gaussian(7, dim, 22);
    const o: ExactSearchOptions = { k: 10, precision: 'float32', dim };
    assert.deepEqual(await pool.search(queries, o), exactSearch(queries, jsOnly(shards), o));
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shards the kernels cannot take stay on the JS scan: dims not a multiple of 16, binary rows over 496 bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-simd-'));
  try {
    const odd = gaussian(50, 20, 3);
    const shards = loadedShards(join(dir, 'a'), [odd], 'float32', rangesOf(odd));
    assert.equal(simdReady(shards, 'f32', 20), false);
    assert.deepEqual(exactSearch(gaussian(2, 20, 4), shards, { k: 3, precision: 'float32', dim: 20 }), exactSearch(gaussian(2, 20, 4), jsOnly(shards), { k: 3, precision: 'float32', dim: 20 }));
    assert.equal(simdReady(shards, 'b1', 4096), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scoreRows through the rescoring kernels gives the JS scores bit for bit, with a busy shard falling back to JS', () => {
  const dim = 384;
  const corpus = gaussian(700, dim, 21);
  // Values across float16's range, subnormal halves included, and exact zeros of both signs.
  for (let i = 0; i < 2000; i++) corpus.data[(i * 131) % corpus.data.length] = i % 3 === 0 ? 3e-7 * ((i % 7) - 3) : i % 3 === 1 ? -0 : 0;
  const ranges = rangesOf(corpus);
  const queries = gaussian(5, dim, 22);
  let seed = 5;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-rescore-'));
  try {
    for (const precision of ['float32', 'float16', 'int8'] as const) {
      const parts = [corpus.slice(0, 250), corpus.slice(250, 251), corpus.slice(251, 700)].map((m) => new Matrix(m.rows, dim, Float32Array.from(m.data)));
      const shards = loadedShards(join(dir, precision), parts, precision, ranges);
      assert.ok(shards.every((s) => s.memory !== undefined));
      const o = { dim, precision, ranges };
      for (let qi = 0; qi < queries.rows; qi++) {
        const q = queries.row(qi);
        for (const n of [4, 5, 6, 7, 8, 13, 64, 256, 700]) {
          const rows = Array.from({ length: n }, () => rnd(corpus.rows));
          const want = scoreRows(q, rows, jsOnly(shards), o);
          assert.deepEqual(scoreRows(q, rows, shards, o), want, `${precision}, ${n} rows`);
          // A shard whose scratch area another thread holds: the JS loops score everything, with the same result.
          const busy = shards[2] as ShardVectors;
          assert.ok(tryLock(busy.memory as NonNullable<ShardVectors['memory']>));
          try {
            assert.deepEqual(scoreRows(q, rows, shards, o), want);
          } finally {
            unlock(busy.memory as NonNullable<ShardVectors['memory']>);
          }
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
