import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { detectCpu } from '../cpu/features.js';
import { isSemsearchError } from '../errors.js';
import { openIndex, type SearchIndex } from '../store/search-index.js';
import { quantizeEmbeddings } from '../tensor/quantize.js';
import { Batcher, DEFAULT_BATCHING } from './batcher.js';
import { WorkerPool } from './worker-pool.js';
import { buildSchemas, DEFAULT_LIMITS } from './schemas.js';
import { validate, type Schema } from './validate.js';
import { createServer, type SemsearchServer } from './server.js';
import { buildTestIndex, passages, postJson, SKIP_WITHOUT_SHARED } from './test-support/fixture.js';

const LIMITS = { ...DEFAULT_LIMITS, maxBodyBytes: 64 * 1024, maxTexts: 8, maxTextChars: 5000, maxK: 50 };
const schemas = buildSchemas(LIMITS);

function conforms(body: unknown, schema: Schema): void {
  const f = validate(body, schema);
  assert.equal(f, undefined, f?.message);
}

function noStack(text: string): void {
  assert.doesNotMatch(text, /\n\s+at |\.ts:\d+|node:internal|\/work\//, 'a response must not carry a stack or server paths');
}

async function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(request));
    let out = '';
    s.on('data', (d) => (out += String(d)));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('semsearch serve: the HTTP API', { skip: SKIP_WITHOUT_SHARED }, () => {
  let fixture: Awaited<ReturnType<typeof buildTestIndex>>;
  let server: SemsearchServer;
  let index: SearchIndex;
  let url: string;

  before(async () => {
    fixture = await buildTestIndex(120);
    server = await createServer({ index: fixture.index, limits: LIMITS, log: () => undefined });
    url = server.url;
    index = await openIndex(fixture.index);
  });
  after(async () => {
    await server?.close();
    await index?.close();
    fixture?.cleanup();
  });

  test('POST /search: one query or a batch, the same hits as the library, in order', async () => {
    const one = await postJson(`${url}/search`, { query: 'how long is hurricane season in jamaica', k: 5 });
    assert.equal(one.status, 200, one.text);
    conforms(one.json, schemas.searchResponse);
    const [want] = await index.search(['how long is hurricane season in jamaica'], 5);
    const got = (one.json['results'] as { hits: { id: string; score: number; text: string }[] }[])[0]?.hits ?? [];
    assert.deepEqual(got.map((h) => h.id), want?.map((h) => h.id));
    got.forEach((h, i) => assert.ok(Math.abs(h.score - (want?.[i]?.score ?? 0)) < 1e-5));
    assert.equal(got[0]?.text, want?.[0]?.text);
    assert.deepEqual([one.json['k'], one.json['precision'], one.json['exact'], one.json['rescored']], [5, 'float32', true, false]);
    assert.ok(typeof one.json['took_ms'] === 'number');

    // Keyword and hybrid modes answer as the library does (keyword search encodes nothing).
    for (const body of [{ mode: 'keyword' }, { mode: 'hybrid' }, { mode: 'hybrid', fusion: 'weighted', vector_weight: 0.3 }] as const) {
      const r = await postJson(`${url}/search`, { query: 'hurricane season jamaica', k: 5, ...body });
      assert.equal(r.status, 200, r.text);
      conforms(r.json, schemas.searchResponse);
      const lib = await index.search('hurricane season jamaica', 5, {
        mode: body.mode,
        ...('fusion' in body ? { fusion: body.fusion, vectorWeight: body.vector_weight } : {}),
      });
      const ids = (r.json['results'] as { hits: { id: string }[] }[])[0]?.hits.map((h) => h.id);
      assert.deepEqual(ids, lib[0]?.map((h) => h.id), JSON.stringify(body));
    }

    const batch = await postJson(`${url}/search`, { queries: ['flu symptoms', 'jamaica'] });
    assert.equal(batch.status, 200, batch.text);
    conforms(batch.json, schemas.searchResponse);
    const results = batch.json['results'] as { query: string; hits: unknown[] }[];
    assert.deepEqual(results.map((r) => r.query), ['flu symptoms', 'jamaica']);
    assert.ok(results.every((r) => r.hits.length === 10), 'k defaults to 10');
    const all = await postJson(`${url}/search`, { query: 'x', k: 50 });
    assert.equal((all.json['results'] as { hits: unknown[] }[])[0]?.hits.length, 50);
  });

  test('texts over the model window are truncated as the model does, and the response says so', async () => {
    const long = 'hurricane '.repeat(400);
    const r = await postJson(`${url}/search`, { queries: [long, 'short'], k: 1 });
    assert.equal(r.status, 200, r.text);
    const [a, b] = r.json['results'] as { truncated: boolean; tokens: number }[];
    assert.equal(a?.truncated, true);
    assert.ok((a?.tokens ?? 0) > index.model.maxSeqLength);
    assert.equal(b?.truncated, false);
    // Truncated means the first max_seq_length tokens were encoded: the same embedding as the cut text.
    const e = await postJson(`${url}/encode`, { texts: [long, 'hurricane '.repeat(index.model.maxSeqLength - 2)] });
    const [x, y] = e.json['embeddings'] as number[][];
    assert.deepEqual(e.json['truncated'], [true, false]);
    x?.forEach((v, i) => assert.ok(Math.abs(v - (y?.[i] ?? 0)) < 1e-5));
  });

  test('POST /encode: the model\'s embeddings, at the precision asked for', async () => {
    const texts = ['How big is London', 'London has 9,787,426 inhabitants at the 2011 census'];
    const f = await postJson(`${url}/encode`, { texts });
    assert.equal(f.status, 200, f.text);
    conforms(f.json, schemas.encodeResponse);
    const want = await index.model.encode(texts);
    assert.equal(f.json['dim'], 32);
    (f.json['embeddings'] as number[][]).forEach((row, r) => row.forEach((v, i) => assert.ok(Math.abs(v - want.get(r, i)) < 1e-5)));
    const q = await postJson(`${url}/encode`, { texts, precision: 'int8' });
    assert.deepEqual((q.json['embeddings'] as number[][]).flat(), Array.from(quantizeEmbeddings(want, 'int8').data));
    // One text gives ranges with min = max in every dimension (all −128): refused with a coded error, not sent.
    const one = await postJson(`${url}/encode`, { texts: ['How big is London'], precision: 'int8' });
    assert.equal(one.status, 400, one.text);
    assert.equal((one.json['error'] as { code: string }).code, 'QUANTIZATION_INVALID');
    assert.match((one.json['error'] as { message: string }).message, /taken from 1 embedding are degenerate/);
    const bin = await postJson(`${url}/encode`, { texts, precision: 'ubinary' });
    conforms(bin.json, schemas.encodeResponse);
    assert.equal(bin.json['dim'], 4);
    assert.deepEqual((bin.json['embeddings'] as number[][]).flat(), Array.from(quantizeEmbeddings(want, 'ubinary').data));
    const n = await postJson(`${url}/encode`, { texts: ['a b c'], normalize: true });
    const norm = Math.hypot(...((n.json['embeddings'] as number[][])[0] ?? []));
    assert.ok(Math.abs(norm - 1) < 1e-5);
  });

  test('POST /similarity: queries × passages with the model\'s similarity function', async () => {
    const body = { queries: ['How big is London'], passages: ['London has 9,787,426 inhabitants', 'London is known for its financial district'] };
    const r = await postJson(`${url}/similarity`, body);
    assert.equal(r.status, 200, r.text);
    conforms(r.json, schemas.similarityResponse);
    const want = index.model.similarity(await index.model.encodeQuery(body.queries), await index.model.encodeDocument(body.passages));
    (r.json['scores'] as number[][])[0]?.forEach((v, i) => assert.ok(Math.abs(v - want.get(0, i)) < 1e-5));
    assert.equal(r.json['similarity'], 'cosine');
  });

  test('GET /health, /ready, /info, /openapi.json, /metrics', async () => {
    const health = await fetch(`${url}/health`);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });
    const info = (await (await fetch(`${url}/info`)).json()) as Record<string, unknown>;
    conforms(info, schemas.infoResponse);
    assert.deepEqual([info['backend'], info['model'], info['count'], info['dim'], info['precision'], info['maxSeqLength']], ['local', 'bert', 120, 32, 'float32', 256]);
    assert.equal(info['opensearch'], undefined);
    assert.deepEqual(info['limits'], LIMITS);
    assert.equal(info['onnxFile'], 'onnx/model.onnx');
    assert.deepEqual(info['cpu'], (({ arch, model, isa, flags }) => ({ arch, model, isa, flags }))(detectCpu()));
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string; components: { schemas: Record<string, Schema> } };
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc.components.schemas['SearchRequest'], JSON.parse(JSON.stringify(schemas.searchRequest)));
    const metrics = await fetch(`${url}/metrics`);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    assert.match(text, /semsearch_http_requests_total\{route="\/search",method="POST",status="200"\} \d+/);
    assert.match(text, /semsearch_http_request_duration_seconds_bucket\{route="\/search",le="0\.1"\} \d+/);
    assert.match(text, /semsearch_batch_texts_count \d+/);
    assert.match(text, /semsearch_queue_depth 0/);
    assert.match(text, /process_resident_memory_bytes \d+/);
  });

  test('concurrent requests are batched together and each gets its own answer', async () => {
    const queries = passages(24).map((p) => p.text.split(' ').slice(0, 6).join(' '));
    const before = await (await fetch(`${url}/metrics`)).text();
    // Mixed k and offset: requests with the same settings run as one search, each sliced to its own page.
    const bodies = queries.map((q, i) => (i % 2 === 0 ? { query: q, k: 3 } : { query: q, k: 5, offset: 1 }));
    const answers = await Promise.all(bodies.map((b) => postJson(`${url}/search`, b)));
    assert.ok(answers.every((a) => a.status === 200));
    assert.deepEqual(answers.map((a) => (a.json['results'] as { query: string }[])[0]?.query), queries);
    const after = await (await fetch(`${url}/metrics`)).text();
    const count = (t: string, series: string): number => Number(new RegExp(`^${series} (\\d+)`, 'm').exec(t)?.[1] ?? 0);
    const batches = count(after, 'semsearch_batch_requests_count') - count(before, 'semsearch_batch_requests_count');
    const requests = count(after, 'semsearch_batch_requests_sum') - count(before, 'semsearch_batch_requests_sum');
    assert.equal(requests, 24);
    assert.ok(batches < 24, `24 concurrent requests went out in ${batches} batches`);
    // Batched or alone, a query gets the library's hits for its own k and offset.
    const want = await index.search(queries, 6);
    answers.forEach((a, i) => {
      const b = bodies[i] as { k: number; offset?: number };
      const got = (a.json['results'] as { hits: { id: string; score: number }[] }[])[0]?.hits ?? [];
      const expect = (want[i] ?? []).slice(b.offset ?? 0, (b.offset ?? 0) + b.k);
      assert.deepEqual(got.map((h) => h.id), expect.map((h) => h.id), `request ${i}`);
      got.forEach((h, j) => assert.ok(Math.abs(h.score - (expect[j]?.score as number)) < 1e-6));
    });
  });

  test('inference runs off the event loop: /health answers while the model works', async () => {
    const long = passages(8).map((p) => p.text.repeat(8).slice(0, 4900));
    let finished = 0;
    const heavy = Array.from({ length: 6 }, () => postJson(`${url}/encode`, { texts: long }).then((r) => (finished++, r)));
    await new Promise((r) => setTimeout(r, 20));
    const t = performance.now();
    const health = await fetch(`${url}/health`);
    const ms = performance.now() - t;
    assert.equal(health.status, 200);
    const during = finished;
    const done = await Promise.all(heavy);
    assert.ok(done.every((r) => r.status === 200));
    assert.ok(during < 6, 'the encodes were still running when /health answered');
    assert.ok(ms < 200, `/health took ${ms.toFixed(1)} ms while the model was busy`);
  });

  test('client mistakes are 4xx with a JSON code and message, never a 500 or a stack', async () => {
    const cases: [string, unknown, number, string, string?][] = [
      ['/search', '{"query": "a",', 400, 'INVALID_JSON'],
      ['/search', '', 400, 'INVALID_JSON'],
      ['/search', '[1, 2]', 400, 'INVALID_ARGUMENT', 'body'],
      ['/search', 'null', 400, 'INVALID_ARGUMENT', 'body'],
      ['/search', { query: 'a', k: 0 }, 400, 'INVALID_ARGUMENT', 'k'],
      ['/search', { query: 'a', k: 51 }, 400, 'LIMIT_EXCEEDED', 'k'],
      ['/search', { query: 'a', k: 1e308 }, 400, 'LIMIT_EXCEEDED', 'k'],
      ['/search', { query: 'a', k: '10' }, 400, 'INVALID_ARGUMENT', 'k'],
      ['/search', { query: ['a'] }, 400, 'INVALID_ARGUMENT', 'query'],
      ['/search', { queries: Array(9).fill('a') }, 400, 'LIMIT_EXCEEDED', 'queries'],
      ['/search', { queries: [] }, 400, 'EMPTY_INPUT', 'queries'],
      ['/search', { query: 'x'.repeat(5001) }, 400, 'LIMIT_EXCEEDED', 'query'],
      ['/search', { query: 'a', extra: 1 }, 400, 'INVALID_ARGUMENT', 'extra'],
      ['/search', { query: 'a', __proto__: { k: 1 } }, 200, ''],
      ['/search', '{"query": "a", "__proto__": {"k": 1}}', 400, 'INVALID_ARGUMENT', '__proto__'],
      ['/encode', { texts: 'a' }, 400, 'INVALID_ARGUMENT', 'texts'],
      ['/encode', { texts: [1] }, 400, 'INVALID_ARGUMENT', 'texts[0]'],
      ['/encode', { texts: ['a'], precision: 'float64' }, 400, 'INVALID_ARGUMENT', 'precision'],
      ['/encode', { texts: Array(9).fill('a') }, 400, 'LIMIT_EXCEEDED', 'texts'],
      ['/similarity', { queries: ['a'] }, 400, 'INVALID_ARGUMENT', 'passages'],
      ['/similarity', { queries: ['a'], passages: [{}] }, 400, 'INVALID_ARGUMENT', 'passages[0]'],
    ];
    for (const [path, body, status, code, field] of cases) {
      const r = await postJson(`${url}${path}`, body);
      assert.equal(r.status, status, `${path} ${JSON.stringify(body)}: ${r.text}`);
      noStack(r.text);
      if (status === 200) continue;
      conforms(r.json, schemas.errorBody);
      const err = r.json['error'] as { code: string; message: string; field?: string };
      assert.equal(err.code, code, r.text);
      assert.ok(err.message.length > 0);
      if (field !== undefined) assert.equal(err.field, field, r.text);
    }
  });

  test('body size, media type, routes and methods', async () => {
    const big = await postJson(`${url}/encode`, { texts: ['x'.repeat(70 * 1024)] });
    assert.equal(big.status, 413, big.text);
    assert.equal((big.json['error'] as { code: string }).code, 'REQUEST_TOO_LARGE');
    // Without a Content-Length (chunked), the limit holds while reading.
    const chunks = new ReadableStream({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new TextEncoder().encode('x'.repeat(8192)));
        c.close();
      },
    });
    const streamed = await fetch(`${url}/encode`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: chunks, duplex: 'half' } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.equal(((await streamed.json()) as { error: { code: string } }).error.code, 'REQUEST_TOO_LARGE');

    const form = await postJson(`${url}/search`, 'query=a', { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    assert.equal((form.json['error'] as { code: string }).code, 'UNSUPPORTED_MEDIA_TYPE');
    const charset = await postJson(`${url}/search`, { query: 'a' }, { 'Content-Type': 'application/json; charset=utf-8' });
    assert.equal(charset.status, 200);

    const missing = await fetch(`${url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
    const get = await fetch(`${url}/search`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal(((await get.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED');
    const del = await fetch(`${url}/info`, { method: 'DELETE' });
    assert.equal(del.status, 405);
    const garbage = await rawHttp(server.port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400/);
    assert.match(garbage, /"code":"INVALID_ARGUMENT"/);
    noStack(garbage);
  });

  test('the page and its files are served with a content security policy', async () => {
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(await page.text(), /<input id="query"/);
    assert.match((await fetch(`${url}/app.js`)).headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(`${url}/style.css`)).status, 200);
    assert.equal((await fetch(`${url}/../package.json`)).status, 404);
  });
});

describe('semsearch serve: load and lifecycle', { skip: SKIP_WITHOUT_SHARED }, () => {
  let fixture: Awaited<ReturnType<typeof buildTestIndex>>;
  before(async () => {
    fixture = await buildTestIndex(60, 'binary');
  });
  after(() => fixture?.cleanup());

  test('/ready is 503 until the model is loaded; a full queue answers 503 with Retry-After; close() finishes what is in flight', async () => {
    // A long batching wait keeps the first request queued, so the queue limit of 1 is hit deterministically.
    const server = await createServer({ index: fixture.index, maxQueue: 1, maxWaitMs: 5000, quietMs: 5000, waitForReady: false, log: () => undefined });
    const early = await fetch(`${server.url}/ready`);
    assert.equal(early.status, 503);
    assert.equal(early.headers.get('retry-after'), '1');
    assert.equal(((await early.json()) as { error: { code: string } }).error.code, 'SERVER_NOT_READY');
    await server.ready;
    assert.equal((await fetch(`${server.url}/ready`)).status, 200);

    const first = postJson(`${server.url}/search`, { query: 'jamaica', k: 3 });
    await new Promise((r) => setTimeout(r, 100));
    const rest = await Promise.all(Array.from({ length: 5 }, () => postJson(`${server.url}/search`, { query: 'flu', k: 3 })));
    for (const r of rest) {
      assert.equal(r.status, 503, r.text);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal((r.json['error'] as { code: string }).code, 'SERVER_BUSY');
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /semsearch_queue_rejected_total 5/);
    const t = performance.now();
    await server.close();
    assert.ok(performance.now() - t < 4000, 'shutdown does not wait out the batching delay');
    const done = await first;
    assert.equal(done.status, 200, done.text);
    await assert.rejects(fetch(`${server.url}/health`));
  });

  test('binary indexes: rescore with int8 vectors or rank by hamming distance alone', async () => {
    const server = await createServer({ index: fixture.index, log: () => undefined });
    try {
      const on = await postJson(`${server.url}/search`, { query: 'hurricane season', k: 5 });
      assert.equal(on.status, 200, on.text);
      assert.deepEqual([on.json['precision'], on.json['rescored']], ['binary', true]);
      const off = await postJson(`${server.url}/search`, { query: 'hurricane season', k: 5, rescore: false });
      assert.equal(off.json['rescored'], false);
      const scores = (off.json['results'] as { hits: { score: number }[] }[])[0]?.hits.map((h) => h.score) ?? [];
      assert.equal(scores.length, 5);
      assert.ok(scores.every((s) => Number.isInteger(s) && s <= 0), `hamming scores ${scores}`);
      // An index with stored int8 ranges quantizes /encode's int8 with them, so one text is meaningful.
      const one = await postJson(`${server.url}/encode`, { texts: ['hurricane season'], precision: 'int8' });
      assert.equal(one.status, 200, one.text);
      const stored = JSON.parse(readFileSync(join(fixture.index, 'manifest.json'), 'utf8')) as { ranges: { min: number[]; max: number[] } };
      const opened = await openIndex(fixture.index);
      const emb = await opened.model.encode(['hurricane season']);
      await opened.close();
      const want = quantizeEmbeddings(emb, 'int8', { ranges: { min: Float32Array.from(stored.ranges.min), max: Float32Array.from(stored.ranges.max) } });
      const got = (one.json['embeddings'] as number[][]).flat();
      assert.deepEqual(got, Array.from(want.data));
      assert.ok(new Set(got).size > 10, 'not all in one bucket');
    } finally {
      await server.close();
    }
  });

  test('a worker that stops unexpectedly is replaced, and the requests queued meanwhile are answered', async () => {
    const batcher = new Batcher(DEFAULT_BATCHING);
    const lines: string[] = [];
    const { pool } = await WorkerPool.start({ source: { backend: 'local', dir: fixture.index } }, 1, batcher, (l) => lines.push(l));
    const first = pool.runners[0];
    await first?.terminate();
    const r = await batcher.submit({ kind: 'search', queries: ['jamaica'], k: 2 });
    assert.ok(r.ok);
    assert.equal((r.value['results'] as { hits: unknown[] }[])[0]?.hits.length, 2);
    assert.equal(pool.runners.length, 1);
    assert.notEqual(pool.runners[0], first);
    assert.match(lines.join('\n'), /stopped unexpectedly; starting a new one/);
    await batcher.close();
    await pool.close();
  });

  test('an index that cannot be opened fails createServer with its code', async () => {
    await assert.rejects(createServer({ index: `${fixture.dir}/nope`, log: () => undefined }), (e: unknown) => (e as { code?: string }).code === 'INDEX_NOT_FOUND');
  });
});

describe('semsearch serve: hostile and slow clients', { skip: SKIP_WITHOUT_SHARED }, () => {
  let fixture: Awaited<ReturnType<typeof buildTestIndex>>;
  let server: SemsearchServer;
  before(async () => {
    fixture = await buildTestIndex(30);
    server = await createServer({
      index: fixture.index,
      log: () => undefined,
      headersTimeoutMs: 1000,
      maxConnections: 4,
      allowedHosts: ['search.internal'],
      corsOrigins: ['https://app.example'],
    });
  });
  after(async () => {
    await server?.close();
    fixture?.cleanup();
  });

  /** A request with a Host header of our choosing (fetch does not let a caller set it). */
  function withHost(host: string, path = '/info', method = 'GET', body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, method, headers: { Host: host, ...headers } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += String(d)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  test('DNS rebinding: a Host the server was not told to answer to gets 403; its own address, localhost and configured names pass', async () => {
    const evil = await withHost('attacker.example');
    assert.equal(evil.status, 403);
    assert.match(evil.text, /"code":"HOST_NOT_ALLOWED"/);
    assert.equal((await withHost(`evil.example:${server.port}`, '/search', 'POST', '{"query":"x"}', { 'Content-Type': 'application/json' })).status, 403);
    for (const ok of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'search.internal', `[::1]:${server.port}`]) assert.equal((await withHost(ok)).status, 200, ok);
  });

  test('a body without a JSON Content-Type is refused, even when it parses', async () => {
    const plain = await withHost(`127.0.0.1:${server.port}`, '/search', 'POST', '{"query":"x"}');
    assert.equal(plain.status, 415);
    assert.match(plain.text, /no Content-Type/);
  });

  test('CORS is off by default and on for the configured origins only, preflight included', async () => {
    const none = await fetch(`${server.url}/info`, { headers: { Origin: 'https://other.example' } });
    assert.equal(none.headers.get('access-control-allow-origin'), null);
    const yes = await fetch(`${server.url}/info`, { headers: { Origin: 'https://app.example' } });
    assert.equal(yes.headers.get('access-control-allow-origin'), 'https://app.example');
    const pre = await fetch(`${server.url}/search`, { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Content-Type/);
    const preNo = await fetch(`${server.url}/search`, { method: 'OPTIONS', headers: { Origin: 'https://other.example' } });
    assert.equal(preNo.headers.get('access-control-allow-origin'), null);
  });

  test('a client that never finishes its request head gets 408 near the header timeout and its socket is closed', async () => {
    const t = performance.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect(server.port, '127.0.0.1', () => s.write('GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      let out = '';
      s.on('data', (d) => (out += String(d)));
      s.on('close', () => resolve(out));
      s.on('error', reject);
    });
    const secs = (performance.now() - t) / 1000;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /"code":"REQUEST_TIMEOUT"/);
    assert.ok(secs >= 0.9 && secs < 4, `answered after ${secs.toFixed(1)} s for a 1 s timeout`);
  });

  test('connections past the cap are refused at once', async () => {
    const held = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<ReturnType<typeof connect>>((ok) => {
        const s = connect(server.port, '127.0.0.1', () => ok(s));
      })),
    );
    await new Promise((r) => setTimeout(r, 50));
    const extra = await new Promise<string>((resolve) => {
      const s = connect(server.port, '127.0.0.1', () => s.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
      let out = '';
      s.on('data', (d) => (out += String(d)));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
    assert.equal(extra, '', 'the fifth connection got no answer: it was closed');
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });

  test('a port out of range, a CORS origin that could never match and a zero connection cap are refused up front', async () => {
    for (const bad of [{ port: 70000 }, { port: -1 }, { port: 1.5 }, { corsOrigins: ['https://a.example/'] }, { corsOrigins: ['a.example'] }, { maxConnections: 0 }]) {
      await assert.rejects(createServer({ index: fixture.index, log: () => undefined, ...bad }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'), JSON.stringify(bad));
    }
  });

  test('the index to serve: a folder or an OpenSearch index, not both, not neither; an OpenSearch index needs url and indexName', async () => {
    const os = { url: 'http://127.0.0.1:1', indexName: 'passages' };
    for (const [bad, field] of [
      [{}, 'index'],
      [{ index: '' }, 'index'],
      [{ index: fixture.index, opensearch: os }, 'index'],
      [{ opensearch: { ...os, url: '' } }, 'opensearch.url'],
      [{ opensearch: { url: os.url } }, 'opensearch.indexName'],
      [{ opensearch: { ...os, oversample: 0 } }, 'oversample'],
      [{ opensearch: { ...os, oversample: 2.5 } }, 'oversample'],
    ] as const) {
      await assert.rejects(createServer({ log: () => undefined, ...(bad as object) }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === field, JSON.stringify(bad));
    }
  });

  test('an OpenSearch cluster that does not answer: createServer fails with BACKEND_UNAVAILABLE naming it, /ready says why', async () => {
    const opensearch = { url: 'http://127.0.0.1:1', indexName: 'passages' };
    await assert.rejects(createServer({ opensearch, log: () => undefined }), (e) => isSemsearchError(e, 'BACKEND_UNAVAILABLE') && e.message.includes('127.0.0.1:1'));
    const s = await createServer({ opensearch, log: () => undefined, waitForReady: false });
    try {
      await s.ready.catch(() => undefined);
      const ready = await fetch(`${s.url}/ready`);
      assert.equal(ready.status, 503);
      assert.match(await ready.text(), /BACKEND_UNAVAILABLE/);
    } finally {
      await s.close();
    }
  });

  test('a port in use is a coded error saying so, not "unexpected error"', async () => {
    await assert.rejects(
      createServer({ index: fixture.index, port: server.port, log: () => undefined }),
      (e) => isSemsearchError(e, 'SERVER_LISTEN_FAILED') && e.field === 'port' && e.message.includes(`port ${server.port} is already in use on 127.0.0.1`),
    );
  });

  test('pagination: offset skips hits, and offset + k past the limit is a clear error', async () => {
    const all = await postJson(`${server.url}/search`, { query: 'hurricane season', k: 10 });
    const page2 = await postJson(`${server.url}/search`, { query: 'hurricane season', k: 5, offset: 5 });
    assert.equal(page2.status, 200, page2.text);
    const ids = (r: typeof all): string[] => (r.json['results'] as { hits: { id: string }[] }[])[0]?.hits.map((h) => h.id) ?? [];
    assert.deepEqual(ids(page2), ids(all).slice(5));
    assert.equal(page2.json['offset'], 5);
    const over = await postJson(`${server.url}/search`, { query: 'x', k: 60, offset: 50 });
    assert.equal(over.status, 400);
    assert.match(over.text, /offset \+ k is 110/);
  });
});
