// Issue 29: one /search with rerank (64 queries × rerank_depth 1000) held its worker for 101 s and kept running after
// its client left. A request now stops when its client hangs up or its deadline passes (the worker reads a shared
// flag between batches), a request asking for more re-ranking than the server allows is refused before it is queued,
// and /metrics counts the cancellations.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { materializeCrossEncoder } from '../encoder/test-support/fixtures.js';
import { isSemsearchError } from '../errors.js';
import { openIndex } from '../store/search-index.js';
import { compatRoutes } from './handlers/compat.js';
import { searchJob } from './handlers/jobs.js';
import type { PostRoute } from './router.js';
import { DEFAULT_LIMITS } from './schemas.js';
import { createServer, type SemsearchServer } from './server.js';
import { ServerState } from './state.js';
import { buildTestIndex, postJson, SKIP_WITHOUT_SHARED } from './test-support/fixture.js';

const PASSAGES = 400;
/** 64 queries × 400 hits = 25,600 cross-encoder pairs: several seconds of the one worker on this machine. */
const BIG = { queries: Array.from({ length: 64 }, (_, i) => `what is the weather like in december, question ${i}`), k: 5, rerank: true, rerank_depth: PASSAGES };
const SERVER_TIMEOUT_MS = 2500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Wait until the worker has taken a batch (the big request left the queue). */
async function untilRunning(url: string): Promise<void> {
  for (let i = 0; i < 200 && (await metric(url, 'semsearch_batches_in_flight')) < 1; i++) await sleep(10);
}

/** A small search and how long it took, in ms. */
async function small(url: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const r = await postJson(`${url}/search`, { query: 'hurricane season', k: 3 });
  return { status: r.status, ms: performance.now() - t0 };
}

describe('requests stop when their client leaves or their deadline passes', { skip: SKIP_WITHOUT_SHARED }, () => {
  let fixture: Awaited<ReturnType<typeof buildTestIndex>>;
  let ceDir: { dir: string; cleanup: () => void };
  let server: SemsearchServer;

  before(async () => {
    fixture = await buildTestIndex(PASSAGES);
    ceDir = materializeCrossEncoder('bert-1');
    server = await createServer({
      index: fixture.index,
      rerank: ceDir.dir,
      workers: 1,
      threads: 1,
      requestTimeoutMs: SERVER_TIMEOUT_MS,
      limits: { maxRerankPairs: 30_000 },
      log: () => undefined,
    });
  });
  after(async () => {
    await server?.close();
    ceDir?.cleanup();
    fixture?.cleanup();
  });

  test('a client that hangs up mid-way frees the worker: the next request is answered at once, and /metrics counts it', async () => {
    const before = await metric(server.url, 'semsearch_requests_cancelled_total{reason="client_gone"}');
    const controller = new AbortController();
    const big = fetch(`${server.url}/search`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(BIG), signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    await untilRunning(server.url);
    await sleep(300);
    controller.abort();
    assert.equal(((await big) as Error).name, 'AbortError');
    // The worker was re-ranking 25,600 pairs (seconds); it stops at its next batch and takes this one.
    const next = await small(server.url);
    assert.equal(next.status, 200);
    assert.ok(next.ms < 1500, `the next request took ${next.ms} ms`);
    assert.equal((await metric(server.url, 'semsearch_requests_cancelled_total{reason="client_gone"}')) - before, 1);
  });

  test("a request's timeout_ms: 504 DEADLINE_EXCEEDED at the deadline, and the worker is free right after", async () => {
    const before = await metric(server.url, 'semsearch_requests_cancelled_total{reason="deadline"}');
    const t0 = performance.now();
    const r = await postJson(`${server.url}/search`, { ...BIG, timeout_ms: 400 });
    const ms = performance.now() - t0;
    assert.equal(r.status, 504, r.text);
    assert.equal((r.json['error'] as { code: string }).code, 'DEADLINE_EXCEEDED');
    assert.match((r.json['error'] as { message: string }).message, /400 ms/);
    assert.ok(ms >= 390 && ms < 1400, `answered after ${ms} ms`);
    const next = await small(server.url);
    assert.equal(next.status, 200);
    assert.ok(next.ms < 1500, `the next request took ${next.ms} ms`);
    assert.equal((await metric(server.url, 'semsearch_requests_cancelled_total{reason="deadline"}')) - before, 1);
  });

  test("the server's request timeout caps a longer timeout_ms; a request whose deadline passes in the queue is dropped from it", async () => {
    const before = await metric(server.url, 'semsearch_requests_cancelled_total{reason="deadline"}');
    const t0 = performance.now();
    const big = postJson(`${server.url}/search`, { ...BIG, timeout_ms: 600_000 });
    await untilRunning(server.url);
    // Queued behind the big one: its 200 ms pass while it waits.
    const q0 = performance.now();
    const queued = await postJson(`${server.url}/search`, { query: 'hurricane season', k: 3, timeout_ms: 200 });
    const queuedMs = performance.now() - q0;
    assert.equal(queued.status, 504, queued.text);
    assert.ok(queuedMs < 1000, `the queued request was answered after ${queuedMs} ms`);
    const r = await big;
    const ms = performance.now() - t0;
    assert.equal(r.status, 504, r.text);
    assert.match((r.json['error'] as { message: string }).message, new RegExp(`${SERVER_TIMEOUT_MS} ms`));
    assert.ok(ms >= SERVER_TIMEOUT_MS - 10 && ms < SERVER_TIMEOUT_MS + 1500, `answered after ${ms} ms`);
    const next = await small(server.url);
    assert.equal(next.status, 200);
    assert.ok(next.ms < 1500, `the next request took ${next.ms} ms`);
    assert.equal((await metric(server.url, 'semsearch_requests_cancelled_total{reason="deadline"}')) - before, 2);
  });

  test('the library: an index search reads its signal inside the scan, and an aborted one rejects before any work', async () => {
    const index = await openIndex(fixture.index);
    try {
      const queries = ['hurricane season', 'flu contagious', 'jamaica weather'];
      const emb = await index.model.encodeQuery(queries);
      const timings = { searchMs: 0, fetchMs: 0 };
      await assert.rejects(index.search(queries, 5, { signal: AbortSignal.abort(), timings }), (e) => isSemsearchError(e, 'CANCELLED'));
      // A signal that turns aborted at its third read: before the scan, then inside it (a round, the first query).
      let reads = 0;
      const signal = {
        get aborted(): boolean {
          return ++reads >= 3;
        },
        reason: undefined,
      };
      await assert.rejects(index.searchEmbeddings(emb, 5, { signal, timings, exact: true }), (e) => isSemsearchError(e, 'CANCELLED'));
      assert.equal(reads, 3);
      assert.deepEqual(timings, { searchMs: 0, fetchMs: 0 }, 'no passage was read');
      const plain = await index.searchEmbeddings(emb, 5);
      assert.deepEqual(await index.searchEmbeddings(emb, 5, { signal: new AbortController().signal }), plain);
    } finally {
      await index.close();
    }
  });

  test('more re-ranking than maxRerankPairs is a 400 LIMIT_EXCEEDED naming the field and the limit, refused before it is queued', async () => {
    const batches = await metric(server.url, 'semsearch_batch_requests_count');
    const r = await postJson(`${server.url}/search`, { ...BIG, rerank_depth: 1000 });
    assert.equal(r.status, 400, r.text);
    const error = r.json['error'] as { code: string; field: string; message: string };
    assert.equal(error.code, 'LIMIT_EXCEEDED');
    assert.equal(error.field, 'rerank_depth');
    assert.match(error.message, /64 queries × rerank_depth 1000 = 64000 .* at most 30000/);
    assert.equal(await metric(server.url, 'semsearch_batch_requests_count'), batches, 'no batch was sent');
    const info = (await (await fetch(`${server.url}/info`)).json()) as { limits: Record<string, number> };
    assert.equal(info.limits['maxRerankPairs'], 30_000);
  });
});

describe('the re-rank cap at the HTTP boundary', () => {
  test('default 1000 pairs: one query at the deepest rerank_depth, or ten at the default depth', () => {
    assert.equal(DEFAULT_LIMITS.maxRerankPairs, 1000);
    assert.doesNotThrow(() => searchJob({ query: 'q', rerank: true, rerank_depth: 1000 }, DEFAULT_LIMITS));
    assert.doesNotThrow(() => searchJob({ queries: Array.from({ length: 10 }, () => 'q'), rerank: true }, DEFAULT_LIMITS));
    assert.throws(
      () => searchJob({ queries: Array.from({ length: 11 }, () => 'q'), rerank: true }, DEFAULT_LIMITS),
      (e) => isSemsearchError(e, 'LIMIT_EXCEEDED') && e.field === 'rerank_depth' && /1100/.test(e.message),
    );
    // Without rerank, no cross-encoder runs: nothing to cap.
    assert.doesNotThrow(() => searchJob({ queries: Array.from({ length: 64 }, () => 'q') }, DEFAULT_LIMITS));
  });

  test("text-embeddings-inference's /rerank: more texts than maxRerankPairs is LIMIT_EXCEEDED", () => {
    const route = compatRoutes({ ...DEFAULT_LIMITS, maxRerankPairs: 2 }, new ServerState())['/rerank'] as PostRoute;
    assert.doesNotThrow(() => route.job({ query: 'q', texts: ['a', 'b'] }));
    assert.throws(() => route.job({ query: 'q', texts: ['a', 'b', 'c'] }), (e) => isSemsearchError(e, 'LIMIT_EXCEEDED') && e.field === 'texts');
  });
});
