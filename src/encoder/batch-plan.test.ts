import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSemsearchError } from '../errors.js';
import { planBatches } from './batch-plan.js';
import { loadModelFromDir } from './load-model.js';
import { ARCHS, decodeMatrix, materializeVariant, maxAbsDiff, readTexts, readVectors } from './test-support/fixtures.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function cost(lengths: number[], ends: number[], overhead: number): number {
  let c = 0;
  let start = 0;
  for (const e of ends) {
    c += (e - start) * (lengths[start] as number) + overhead;
    start = e;
  }
  return c;
}

/** Every way to cut n sorted texts into batches of at most maxBatch: the cheapest cost. */
function bruteForce(lengths: number[], maxBatch: number, overhead: number): number {
  const n = lengths.length;
  let best = Infinity;
  for (let mask = 0; mask < 1 << (n - 1); mask++) {
    const ends: number[] = [];
    for (let i = 1; i < n; i++) if (mask & (1 << (i - 1))) ends.push(i);
    ends.push(n);
    let ok = true;
    let start = 0;
    for (const e of ends) {
      if (e - start > maxBatch) ok = false;
      start = e;
    }
    if (ok) best = Math.min(best, cost(lengths, ends, overhead));
  }
  return best;
}

test('planBatches: contiguous, every text once, at most maxBatch each, and as cheap as the best of all cuts', () => {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rnd() * 12);
    const lengths = Array.from({ length: n }, () => 2 + Math.floor(rnd() * 200)).sort((a, b) => b - a);
    const maxBatch = 1 + Math.floor(rnd() * 6);
    const overhead = [0, 16, 500][trial % 3] as number;
    const ends = planBatches(lengths, maxBatch, overhead);
    assert.equal(ends.at(-1), n);
    let start = 0;
    for (const e of ends) {
      assert.ok(e > start && e - start <= maxBatch, `batch [${start}, ${e}) with maxBatch ${maxBatch}`);
      start = e;
    }
    assert.equal(cost(lengths, ends, overhead), bruteForce(lengths, maxBatch, overhead), `lengths ${lengths} maxBatch ${maxBatch} overhead ${overhead}`);
  }
  assert.deepEqual(planBatches([], 32), []);
});

test('planBatches: equal lengths fill whole batches; a long outlier gets a batch of its own', () => {
  assert.deepEqual(planBatches(new Array(70).fill(50), 32), [32, 64, 70]);
  // Padding 31 texts from 20 to 300 tokens would cost 8,680 tokens; one more pass costs 16.
  assert.deepEqual(planBatches([300, ...new Array(31).fill(20)], 32), [1, 32]);
  // With a pass worth one token, only texts of the same length share one.
  assert.deepEqual(planBatches([9, 8, 8, 7], 32, 1), [1, 3, 4]);
});

test('encode: padding-aware batches give the same embeddings as sentence-transformers\' fixed batches, and the reference', async () => {
  // Texts of very different lengths, so the two batchings group them differently.
  const texts = [...readTexts(), 'short', 'a somewhat longer text about London and its 9,787,426 inhabitants', 'x '.repeat(200)];
  for (const arch of ARCHS) {
    const { dir, cleanup } = materializeVariant(arch, 'mean-norm');
    cleanups.push(cleanup);
    const model = await loadModelFromDir(dir);
    const fixed = await model.encode(texts, { batchSize: 8, batching: 'fixed' });
    const aware = await model.encode(texts, { batchSize: 8 });
    assert.ok(maxAbsDiff(aware, fixed) <= 1e-6, `${arch}: ${maxAbsDiff(aware, fixed)}`);
    const ref = readVectors(arch).embeddings['mean-norm'];
    assert.ok(ref !== undefined);
    const want = decodeMatrix(ref.torch['32'] as Parameters<typeof decodeMatrix>[0]);
    const n = readTexts().length;
    assert.ok(maxAbsDiff(aware.slice(0, n), want) <= 1e-5, arch);
    await assert.rejects(model.encode(texts, { batching: 'tokens' as 'fixed' }), (e: unknown) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'batching');
    await model.dispose();
  }
});
