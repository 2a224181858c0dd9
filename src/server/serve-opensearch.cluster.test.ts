// `semsearch serve` over an OpenSearch index, against the real 2-node cluster `npm run test:cluster` starts: the
// same routes, answered by workers that encode here and search there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { pushIndex } from '../opensearch/push.js';
import type { Filter } from '../store/filter.js';
import { openIndex, type SearchIndex } from '../store/search-index.js';
import { type IndexHit } from '../store/searcher.js';
import { buildIndex } from '../store/build-index.js';
import { cleanBuild, passageMeta, passageText, writeCorpus, type Content } from '../store/test-support/living.js';
import { buildSchemas, DEFAULT_LIMITS } from './schemas.js';
import { createServer, type SemsearchServer } from './server.js';
import { validate } from './validate.js';

const URL_ = process.env['SEMSEARCH_OPENSEARCH_URL'];
assert.ok(URL_ !== undefined, 'run these tests with npm run test:cluster, which starts the cluster they need');
const url = URL_;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');
const BERT = join(ROOT, 'src/model/fixtures/models/bert');
const QUERIES = ['london bridge history', 'coffee and bread recipe', 'vector search engine', 'winter snow mountain', 'passage 7 about music'];
const INDEX_NAME = 'srv-bert';

type Json = Record<string, unknown>;
type WireHit = { id: string; score: number; text: string; index: number; metadata?: Json };

async function call(base: string, path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<{ status: number; json: Json }> {
  const r = await fetch(`${base}${path}`, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  return { status: r.status, json: (await r.json()) as Json };
}

function wireHits(json: Json): WireHit[][] {
  return (json['results'] as { hits: WireHit[] }[]).map((r) => r.hits);
}

/** Ids, scores, texts and metadata as the server sends them, beside the local index's. */
function assertSameAsLocal(got: WireHit[][], want: IndexHit[][], what: string): void {
  assert.equal(got.length, want.length, what);
  got.forEach((g, qi) => {
    assert.deepEqual(
      g.map((h) => [h.id, h.score, h.text, h.metadata ?? null, h.index]),
      (want[qi] ?? []).map((h) => [h.id, h.score, h.text, h.metadata ?? null, -1]),
      `${what}: query ${qi}`,
    );
  });
}

describe('semsearch serve on the OpenSearch backend', () => {
  let tmp: string;
  let model: SentenceTransformer;
  let dir: string;
  let local: SearchIndex;
  let server: SemsearchServer;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'semsearch-serve-os-'));
    model = await loadModelFromDir(BERT);
    const content = new Map<string, Content>();
    for (let i = 0; i < 200; i++) content.set(`p${i}`, { text: passageText(i), metadata: passageMeta(i) });
    dir = await cleanBuild(tmp, 'srv', content, model, BERT);
    await pushIndex(dir, { url, indexName: INDEX_NAME, full: true });
    local = await openIndex(dir, { model });
    server = await createServer({ opensearch: { url, indexName: INDEX_NAME, rescore: true }, threads: 1 });
  });
  after(async () => {
    await server?.close();
    await local?.close();
    await model?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('/info names the backend, the index and its defaults', async () => {
    const r = await call(server.url, '/info');
    assert.equal(r.status, 200);
    const invalid = validate(r.json, buildSchemas(DEFAULT_LIMITS).infoResponse);
    assert.equal(invalid, undefined, invalid?.message);
    assert.equal(r.json['backend'], 'opensearch');
    assert.equal(r.json['count'], 200);
    assert.equal(r.json['ann'], true);
    assert.equal(r.json['precision'], 'float32');
    assert.equal(r.json['dim'], model.dimension);
    assert.deepEqual(r.json['opensearch'], { url, indexName: INDEX_NAME, replicas: 1, oversample: 10, rescore: true }, 'a replica on the 2-node cluster');
  });

  test('/search: rescored hits equal the local index (ids, scores, texts, metadata); filters and per-request options', async () => {
    const r = await call(server.url, '/search', { queries: QUERIES, k: 10 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json['rescored'], true);
    assert.equal(r.json['exact'], false);
    assertSameAsLocal(wireHits(r.json), await local.search(QUERIES, 10), 'rescored');

    const filter: Filter = { and: [{ lang: 'en' }, { year: { gte: 2010 } }] };
    const f = await call(server.url, '/search', { queries: QUERIES, k: 5, filter });
    assert.equal(f.status, 200, JSON.stringify(f.json));
    const filtered = await local.search(QUERIES, 5, { filter });
    assert.ok(filtered.every((hits) => hits.length === 5 && hits.every((h) => h.metadata?.['lang'] === 'en')), 'the filter allows some passages, not all');
    assertSameAsLocal(wireHits(f.json), filtered, 'filtered');

    // Without rescoring the cluster's own scores come back: the same passages, scores within float rounding.
    const plain = await call(server.url, '/search', { queries: QUERIES, k: 10, rescore: false, oversample: 5 });
    assert.equal(plain.json['rescored'], false);
    const want = await local.search(QUERIES, 10);
    wireHits(plain.json).forEach((hits, qi) => {
      assert.deepEqual(
        hits.map((h) => h.id),
        (want[qi] ?? []).map((h) => h.id),
        `query ${qi}`,
      );
      hits.forEach((h, i) => assert.ok(Math.abs(h.score - (want[qi]?.[i]?.score ?? NaN)) < 1e-5, `query ${qi} hit ${i}: ${h.score}`));
    });

    // Hybrid and keyword run on the cluster too (BM25 there, fusion here).
    for (const mode of ['keyword', 'hybrid']) {
      const m = await call(server.url, '/search', { query: 'london bridge', k: 3, mode });
      assert.equal(m.status, 200, JSON.stringify(m.json));
      assert.equal(wireHits(m.json)[0]?.length, 3, mode);
    }
  });

  test('options that only a local index has are refused, naming them; concurrent requests are batched and answered', async () => {
    for (const [body, field] of [
      [{ query: 'london', exact: true }, 'exact'],
      [{ query: 'london', ef: 50 }, 'ef'],
      [{ query: 'london', oversample: 0 }, 'oversample'],
      [{ query: 'london', filter: { nosuchfield: 1 } }, 'filter'],
    ] as const) {
      const r = await call(server.url, '/search', body);
      assert.equal(r.status, 400, JSON.stringify(r.json));
      const error = r.json['error'] as { code: string; field?: string };
      assert.ok(['INVALID_ARGUMENT', 'FILTER_INVALID'].includes(error.code), error.code);
      assert.ok(error.field?.startsWith(field), `${JSON.stringify(body)} names ${field}: ${error.field}`);
    }
    const many = await Promise.all(QUERIES.map((q) => call(server.url, '/search', { query: q, k: 4 })));
    const want = await local.search(QUERIES, 4);
    many.forEach((r, qi) => assertSameAsLocal(wireHits(r.json), [want[qi] ?? []], `concurrent ${qi}`));
  });

  test('writes through the server: POST /documents is searchable at once, DELETE removes, an unknown id is 404', async () => {
    const up = await call(server.url, '/documents', { documents: [{ id: 'srv-new', text: 'the famous london bridge history told again', metadata: { lang: 'en', year: 2030 } }] });
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.equal(up.json['added'], 1);
    const found = await call(server.url, '/search', { query: 'london bridge history', k: 1, filter: { year: 2030 } });
    assert.equal(wireHits(found.json)[0]?.[0]?.id, 'srv-new');
    const del = await call(server.url, '/documents/srv-new', undefined, 'DELETE');
    assert.equal(del.status, 200, JSON.stringify(del.json));
    const gone = await call(server.url, '/search', { query: 'london bridge history', k: 1, filter: { year: 2030 } });
    assert.deepEqual(wireHits(gone.json)[0], []);
    const unknown = await call(server.url, '/documents/nope', undefined, 'DELETE');
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json['error'] as { code: string }).code, 'UNKNOWN_DOCUMENT');
  });

  test('/v1/embeddings is encoded here, with the index\'s model', async () => {
    const r = await call(server.url, '/v1/embeddings', { input: ['how big is london'] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const got = (r.json['data'] as { embedding: number[] }[])[0]?.embedding ?? [];
    const want = (await model.encode(['how big is london'])).row(0);
    assert.equal(got.length, want.length);
    got.forEach((v, i) => assert.ok(Math.abs(v - (want[i] ?? NaN)) < 1e-6, `dim ${i}`));
  });

  test('a chunked index on the cluster: /info counts windows and documents, /search answers one hit per document with its window, as locally', async () => {
    // Documents of 1 to 12 passages, cut into windows of 48 tokens.
    const content = new Map<string, Content>();
    for (let i = 0; i < 30; i++) content.set(`doc${i}`, { text: Array.from({ length: 1 + (i % 12) }, (_, p) => passageText(i * 20 + p)).join('. '), metadata: passageMeta(i) });
    const { corpus, metadata } = writeCorpus(tmp, 'chunked', content);
    const cdir = join(tmp, 'chunked-index');
    const built = await buildIndex({ corpus, out: cdir, model, modelRef: BERT, metadata, chunk: { maxTokens: 48, overlap: 6 } });
    const windows = built.manifest.count;
    assert.ok(windows > 40, `${windows} windows`);
    await pushIndex(cdir, { url, indexName: 'srv-chunked', full: true });
    const clocal = await openIndex(cdir, { model });
    const cserver = await createServer({ opensearch: { url, indexName: 'srv-chunked', rescore: true, oversample: 100 }, threads: 1 });
    try {
      const info = await call(cserver.url, '/info');
      const invalid = validate(info.json, buildSchemas(DEFAULT_LIMITS).infoResponse);
      assert.equal(invalid, undefined, invalid?.message);
      assert.equal(info.json['count'], windows);
      assert.deepEqual(info.json['chunking'], { ...built.manifest.chunking, windows, documents: 30 });
      for (const how of ['max', 'sum'] as const) {
        const r = await call(cserver.url, '/search', { queries: QUERIES, k: 5, chunk_score: how, sum_chunks: 2 });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        const want = await clocal.search(QUERIES, 5, { chunkScore: how, sumChunks: 2 });
        const got = (r.json['results'] as { hits: (WireHit & { chunk?: Json })[] }[]).map((x) => x.hits);
        got.forEach((hits, qi) => {
          assert.deepEqual(
            hits.map((h) => [h.id, h.score, h.text, h.chunk ?? null]),
            (want[qi] ?? []).map((h) => [h.id, h.score, h.text, h.chunk ?? null]),
            `${how}: query ${qi}`,
          );
        });
      }
    } finally {
      await cserver.close();
      await clocal.close();
    }
  });

  test('the CLI: semsearch serve --backend opensearch answers /search, and SIGTERM stops it', async () => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, 'serve', '--backend', 'opensearch', '--url', url, '--index-name', INDEX_NAME, '--port', '0', '--threads', '1', '--rescore'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const deadline = Date.now() + 60_000;
      let base: string | undefined;
      while (base === undefined) {
        base = /listening on (http:\/\/\S+) /.exec(out)?.[1];
        if (Date.now() > deadline || child.exitCode !== null) assert.fail(`serve did not start: ${out}${err}`);
        await new Promise((res) => setTimeout(res, 50));
      }
      const r = await call(base, '/search', { query: QUERIES[0], k: 3 });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assertSameAsLocal(wireHits(r.json), await local.search([QUERIES[0] as string], 3), 'CLI server');
    } finally {
      child.kill('SIGTERM');
      const code = await new Promise((res) => child.once('exit', res));
      assert.equal(code, 0, err);
    }
  });
});
