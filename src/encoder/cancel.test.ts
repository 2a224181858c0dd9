// An AbortSignal stops encode and predict as fetch's signal stops a request: an aborted signal rejects before any
// work, an abort during the call rejects it before the next batch, and the rejection is a coded error (CANCELLED).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSemsearchError, SemsearchError } from '../errors.js';
import { loadCrossEncoderFromDir, type CrossEncoder, type TextPair } from './cross-encoder.js';
import { loadModelFromDir } from './load-model.js';
import type { SentenceTransformer } from './sentence-transformer.js';
import { FIXTURES, materializeCrossEncoder } from './test-support/fixtures.js';

const TEXTS = Array.from({ length: 4000 }, (_, i) => `passage ${i}: the quick brown fox jumps over the lazy dog ${i % 97} times`);
const PAIRS: TextPair[] = TEXTS.map((t) => ['what does the fox do', t]);

describe('AbortSignal in the library', () => {
  let model: SentenceTransformer;
  let ce: CrossEncoder;
  let ceDir: { dir: string; cleanup: () => void };

  before(async () => {
    model = await loadModelFromDir(`${FIXTURES}models/bert`, { workers: 1, threads: 1 });
    ceDir = materializeCrossEncoder('bert-1');
    ce = await loadCrossEncoderFromDir(ceDir.dir, { workers: 1, threads: 1 });
  });
  after(async () => {
    await model?.dispose();
    await ce?.dispose();
    ceDir?.cleanup();
  });

  test('an aborted signal rejects with CANCELLED before any work: no batch, no tokenizing', async () => {
    const signal = AbortSignal.abort();
    const timings = { tokenizeMs: 0, inferenceMs: 0 };
    let batches = 0;
    const t0 = performance.now();
    await assert.rejects(model.encode(TEXTS, { signal, timings, onProgress: () => batches++ }), (e) => isSemsearchError(e, 'CANCELLED') && /encode was cancelled/.test(e.message));
    await assert.rejects(ce.predict(PAIRS, { signal, timings, onProgress: () => batches++ }), (e) => isSemsearchError(e, 'CANCELLED') && /predict was cancelled/.test(e.message));
    await assert.rejects(ce.rank('q', TEXTS, { signal }), (e) => isSemsearchError(e, 'CANCELLED'));
    await assert.rejects(model.encodeTokenIds([[1000, 1001]], { signal }), (e) => isSemsearchError(e, 'CANCELLED'));
    assert.equal(batches, 0);
    assert.deepEqual(timings, { tokenizeMs: 0, inferenceMs: 0 });
    // 4000 texts take seconds here; refusing them takes nothing.
    assert.ok(performance.now() - t0 < 200, `took ${performance.now() - t0} ms`);
  });

  test('an abort during predict rejects it before the next batch', async () => {
    const full = performance.now();
    await ce.predict(PAIRS);
    const fullMs = performance.now() - full;
    const controller = new AbortController();
    let done = 0;
    let abortedAt = 0;
    await assert.rejects(
      ce.predict(PAIRS, {
        signal: controller.signal,
        onProgress: (p) => {
          done = p.done;
          if (p.done >= 64 && abortedAt === 0) {
            abortedAt = performance.now();
            controller.abort();
          }
        },
      }),
      (e) => isSemsearchError(e, 'CANCELLED') && e.cause instanceof Error && e.cause.name === 'AbortError',
    );
    const late = performance.now() - abortedAt;
    assert.ok(done < 200, `${done} of ${PAIRS.length} pairs were scored after the abort`);
    // From the abort to the rejection: at most the batch in flight, a small share of the whole call.
    assert.ok(late < Math.max(50, fullMs / 10), `rejected ${late} ms after the abort; the whole call takes ${fullMs} ms`);
  });

  test('an abort during encode rejects it before the next batch; a timed-out signal says so', async () => {
    const controller = new AbortController();
    let done = 0;
    await assert.rejects(
      model.encode(TEXTS, {
        signal: controller.signal,
        onProgress: (p) => {
          done = p.done;
          controller.abort();
        },
      }),
      (e) => isSemsearchError(e, 'CANCELLED'),
    );
    assert.ok(done <= 32, `${done} texts were encoded; one batch is 32`);
    await assert.rejects(model.encode(TEXTS, { signal: AbortSignal.timeout(1) }), (e) => isSemsearchError(e, 'CANCELLED') && /timed out/.test(e.message));
  });

  test('a signal whose reason is a SemsearchError rejects with that error; a signal never aborted changes nothing', async () => {
    const reason = new SemsearchError('DEADLINE_EXCEEDED', 'past the deadline');
    await assert.rejects(ce.predict(PAIRS, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    // Any object with aborted and reason will do (a server worker reads a shared-memory flag that way).
    let reads = 0;
    const flag = {
      get aborted(): boolean {
        reads++;
        return false;
      },
      reason: undefined,
    };
    const pairs = PAIRS.slice(0, 70);
    const withSignal = await ce.predict(pairs, { signal: flag, batchSize: 32 });
    assert.deepEqual(Array.from(withSignal.data), Array.from((await ce.predict(pairs, { batchSize: 32 })).data));
    // Read before the work, before each of the batches and after them.
    assert.ok(reads >= 4, `read ${reads} times`);
  });
});
