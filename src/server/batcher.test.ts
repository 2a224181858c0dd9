import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSemsearchError } from '../errors.js';
import { Batcher, type BatchRunner } from './batcher.js';
import type { Job, JobResult } from './inference.js';

/** A runner that records the batches it gets and answers after `ms`, echoing the first query of each job. */
class FakeRunner implements BatchRunner {
  readonly batches: Job[][] = [];
  constructor(private readonly ms = 20) {}
  async run(jobs: Job[]): Promise<JobResult[]> {
    this.batches.push(jobs);
    await new Promise((r) => setTimeout(r, this.ms));
    return jobs.map((j) => ({ ok: true, value: { echo: j.kind === 'search' ? j.queries[0] : '' } }));
  }
  async close(): Promise<void> {}
}

const search = (q: string, n = 1): Job => ({ kind: 'search', queries: Array.from({ length: n }, (_, i) => `${q}${i || ''}`), k: 3 });

test('concurrent requests share one batch, up to maxBatch texts, and each gets its own answer', async () => {
  const runner = new FakeRunner();
  const b = new Batcher({ batching: true, maxBatch: 8, maxWaitMs: 30, maxQueue: 100 });
  b.addRunner(runner);
  const answers = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((q) => b.submit(search(q, 3))));
  assert.deepEqual(answers.map((a) => (a.ok ? a.value['echo'] : '')), ['a', 'b', 'c', 'd', 'e']);
  // 3 texts each, 8 per batch: [a b] [c d] [e]
  assert.deepEqual(runner.batches.map((x) => x.length), [2, 2, 1]);
  await b.close();
});

test('a wait ends when arrivals pause for quietMs, or at maxWaitMs under a steady stream; a full batch goes at once', async () => {
  const runner = new FakeRunner(0);
  const b = new Batcher({ batching: true, maxBatch: 100, maxWaitMs: 200, quietMs: 60, maxQueue: 100 });
  b.addRunner(runner);
  let t = performance.now();
  await b.submit(search('lone'));
  const lone = performance.now() - t;
  assert.ok(lone >= 58 && lone < 190, `a lone request waited ${lone} ms`);
  // One request every 10 ms never leaves a 60 ms pause: the batch goes at the 200 ms bound.
  t = performance.now();
  const stream: Promise<unknown>[] = [];
  for (let i = 0; i < 30; i++) {
    stream.push(b.submit(search(`s${i}`)));
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(stream);
  const sizes = runner.batches.slice(1).map((x) => x.length);
  assert.ok((sizes[0] ?? 0) >= 5 && (sizes[0] ?? 0) <= 25, `stream batches ${sizes}`);
  t = performance.now();
  await b.submit(search('a', 100));
  assert.ok(performance.now() - t < 25, 'a request that fills a batch does not wait');
  await b.close();
});

test('without batching every request is its own batch', async () => {
  const runner = new FakeRunner(5);
  const b = new Batcher({ batching: false, maxBatch: 32, maxWaitMs: 5, maxQueue: 100 });
  b.addRunner(runner);
  await Promise.all(['a', 'b', 'c'].map((q) => b.submit(search(q))));
  assert.deepEqual(runner.batches.map((x) => x.length), [1, 1, 1]);
  await b.close();
});

test('a full queue refuses with SERVER_BUSY instead of growing; flush sends what waits at once', async () => {
  const b = new Batcher({ batching: true, maxBatch: 32, maxWaitMs: 10_000, maxQueue: 2 });
  b.addRunner(new FakeRunner(0));
  const first = [b.submit(search('a')), b.submit(search('b'))];
  await assert.rejects(b.submit(search('c')), (e) => isSemsearchError(e, 'SERVER_BUSY'));
  assert.equal(b.depth, 2);
  const t = performance.now();
  b.flush();
  await Promise.all(first);
  assert.ok(performance.now() - t < 1000);
  await b.whenIdle();
  await b.close();
});

test('requests queue until a runner comes, and are refused when none will', async () => {
  const b = new Batcher({ batching: true, maxBatch: 32, maxWaitMs: 1, maxQueue: 10 });
  const waiting = b.submit(search('a'));
  await new Promise((r) => setTimeout(r, 20));
  b.addRunner(new FakeRunner(0));
  assert.equal(((await waiting) as { ok: true; value: Record<string, unknown> }).value['echo'], 'a');
  const c = new Batcher({ batching: true, maxBatch: 32, maxWaitMs: 1, maxQueue: 10 });
  const lost = c.submit(search('a'));
  const { SemsearchError } = await import('../errors.js');
  c.fail(new SemsearchError('SERVER_NOT_READY', 'no model'));
  await assert.rejects(lost, (e) => isSemsearchError(e, 'SERVER_NOT_READY'));
  await assert.rejects(c.submit(search('b')), (e) => isSemsearchError(e, 'SERVER_NOT_READY'));
  await b.close();
});

test('a request whose client went away while it waited is dropped from the queue, not computed', async () => {
  const runner = new FakeRunner(60);
  const b = new Batcher({ batching: false, maxBatch: 32, maxWaitMs: 5, maxQueue: 100 });
  b.addRunner(runner);
  const busy = b.submit(search('running'));
  const gone = new AbortController();
  const queued = b.submit(search('abandoned'), gone.signal);
  const kept = b.submit(search('kept'));
  gone.abort();
  await assert.rejects(queued, (e) => isSemsearchError(e, 'CLIENT_GONE'));
  await Promise.all([busy, kept]);
  assert.deepEqual(runner.batches.map((x) => (x[0] as { queries: string[] }).queries[0]), ['running', 'kept']);
  assert.equal(b.dropped, 1);
  await b.close();
});
