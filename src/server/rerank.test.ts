// Retrieve, then re-rank, in the server: `semsearch serve --cross-encoder <model>` loads it once per worker;
// /search re-ranks on request and text-embeddings-inference's POST /rerank scores texts with it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCrossEncoderFromDir, type CrossEncoder } from '../encoder/cross-encoder.js';
import { materializeCrossEncoder } from '../encoder/test-support/fixtures.js';
import { isSemsearchError } from '../errors.js';
import { rerankHits } from '../rerank/rerank-hits.js';
import { openIndex, type SearchIndex } from '../store/search-index.js';
import { buildSchemas, DEFAULT_LIMITS } from './schemas.js';
import { createServer, type SemsearchServer } from './server.js';
import { buildTestIndex, postJson, SKIP_WITHOUT_SHARED } from './test-support/fixture.js';
import { validate } from './validate.js';

const QUERIES = ['what is a hurricane', 'how long is the flu contagious', 'jamaica weather in december'];
type WireHit = { id: string; score: number; retrieval_score?: number; text: string };

describe('semsearch serve --cross-encoder', { skip: SKIP_WITHOUT_SHARED }, () => {
  let fixture: Awaited<ReturnType<typeof buildTestIndex>>;
  let ceDir: { dir: string; cleanup: () => void };
  let server: SemsearchServer;
  let local: SearchIndex;
  let ce: CrossEncoder;
  const schemas = buildSchemas(DEFAULT_LIMITS);

  before(async () => {
    fixture = await buildTestIndex(120);
    ceDir = materializeCrossEncoder('bert-1');
    server = await createServer({ index: fixture.index, rerank: ceDir.dir, threads: 1, log: () => undefined });
    local = await openIndex(fixture.index);
    ce = await loadCrossEncoderFromDir(ceDir.dir, { workers: 1 });
  });
  after(async () => {
    await server?.close();
    await local?.close();
    await ce?.dispose();
    ceDir?.cleanup();
    fixture?.cleanup();
  });

  test('/info names the cross-encoder', async () => {
    const info = (await (await fetch(`${server.url}/info`)).json()) as Record<string, unknown>;
    assert.equal(validate(info, schemas.infoResponse), undefined);
    assert.deepEqual(info['crossEncoder'], { model: ceDir.dir.split('/').pop(), architecture: 'BertForSequenceClassification', maxLength: 48, activation: 'sigmoid', onnxFile: 'onnx/model.onnx' });
  });

  test('/search with rerank: the index\'s top rerank_depth re-scored by the cross-encoder, as the library re-ranks them; pages too', async () => {
    const r = await postJson(`${server.url}/search`, { queries: QUERIES, k: 5, rerank: true, rerank_depth: 20 });
    assert.equal(r.status, 200, r.text);
    assert.equal(validate(r.json, schemas.searchResponse), undefined);
    assert.deepEqual(r.json['reranked'], { model: ceDir.dir.split('/').pop(), depth: 20 });
    const want = await rerankHits(ce, QUERIES, await local.search(QUERIES, 20), { k: 5 });
    const got = (r.json['results'] as { hits: WireHit[] }[]).map((x) => x.hits);
    got.forEach((hits, qi) => {
      assert.deepEqual(
        hits.map((h) => [h.id, h.text, h.retrieval_score]),
        (want[qi] ?? []).map((h) => [h.id, h.text, h.retrievalScore]),
        `query ${qi}`,
      );
      hits.forEach((h, i) => assert.ok(Math.abs(h.score - (want[qi]?.[i]?.score ?? NaN)) < 1e-6, `query ${qi} hit ${i}`));
    });
    // The re-ranked order differs from the index's somewhere: re-ranking did something.
    const plain = await local.search(QUERIES, 5);
    assert.ok(
      got.some((hits, qi) => hits.map((h) => h.id).join() !== (plain[qi] ?? []).map((h) => h.id).join()),
      'the cross-encoder reorders some list',
    );
    const page2 = await postJson(`${server.url}/search`, { query: QUERIES[0], k: 2, offset: 2, rerank: true, rerank_depth: 20 });
    assert.deepEqual(
      ((page2.json['results'] as { hits: WireHit[] }[])[0]?.hits ?? []).map((h) => h.id),
      (want[0] ?? []).slice(2, 4).map((h) => h.id),
    );
    const without = await postJson(`${server.url}/search`, { query: QUERIES[0], k: 3 });
    assert.equal(((without.json['results'] as { hits: WireHit[] }[])[0]?.hits[0] as WireHit).retrieval_score, undefined);
    assert.equal(without.json['reranked'], undefined);
    const bad = await postJson(`${server.url}/search`, { query: QUERIES[0], rerank_depth: 20 });
    assert.equal(bad.status, 400);
    assert.equal((bad.json['error'] as { field: string }).field, 'rerank_depth');
  });

  test("POST /rerank in text-embeddings-inference's shapes: best first, raw scores, texts, truncation refused unless asked", async () => {
    const texts = ['London is known for its financial district', 'London has 9,787,426 inhabitants at the 2011 census', 'Paris is in France'];
    const r = await postJson(`${server.url}/rerank`, { query: 'How big is London', texts });
    assert.equal(r.status, 200, r.text);
    const ranks = r.json as unknown as { index: number; score: number; text?: string }[];
    const want = (await ce.predict(texts.map((t): [string, string] => ['How big is London', t]))).data;
    assert.deepEqual(
      ranks.map((x) => x.index),
      [0, 1, 2].sort((a, b) => (want[b] as number) - (want[a] as number)),
    );
    ranks.forEach((x) => assert.ok(Math.abs(x.score - (want[x.index] as number)) < 1e-6));
    assert.ok(ranks.every((x) => x.text === undefined));
    const raw = (await postJson(`${server.url}/rerank`, { query: 'How big is London', texts, raw_scores: true, return_text: true })).json as unknown as { index: number; score: number; text: string }[];
    const logits = (await ce.predict(texts.map((t): [string, string] => ['How big is London', t]), { activation: 'identity' })).data;
    raw.forEach((x) => {
      assert.ok(Math.abs(x.score - (logits[x.index] as number)) < 1e-6);
      assert.equal(x.text, texts[x.index]);
    });
    const long = 'the word '.repeat(200);
    const refused = await postJson(`${server.url}/rerank`, { query: 'q', texts: ['short', long] });
    assert.equal(refused.status, 413);
    assert.deepEqual(Object.keys(refused.json).sort(), ['error', 'error_type']);
    assert.equal(refused.json['error_type'], 'validation');
    assert.match(String(refused.json['error']), /texts\[1\]|truncate/);
    assert.equal((await postJson(`${server.url}/rerank`, { query: 'q', texts: ['short', long], truncate: true })).status, 200);
    const unknown = await postJson(`${server.url}/rerank`, { query: 'q', texts: ['a'], top_n: 3 });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.json['error_type'], 'validation');
  });

  test('/metrics times the re-ranking stage', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /semsearch_stage_duration_seconds_count\{stage="rerank"\} [1-9]/);
  });

  test('without --cross-encoder: rerank requests are refused naming why; a cross-encoder with 3 labels cannot start a server', async () => {
    const plain = await createServer({ index: fixture.index, threads: 1, log: () => undefined });
    try {
      const r = await postJson(`${plain.url}/search`, { query: 'x', rerank: true });
      assert.equal(r.status, 400);
      assert.equal((r.json['error'] as { field: string }).field, 'rerank');
      assert.match((r.json['error'] as { message: string }).message, /--cross-encoder/);
      const t = await postJson(`${plain.url}/rerank`, { query: 'x', texts: ['a'] });
      assert.equal(t.status, 422);
      assert.match(String(t.json['error']), /--cross-encoder/);
    } finally {
      await plain.close();
    }
    const three = materializeCrossEncoder('bert-3');
    try {
      await assert.rejects(
        createServer({ index: fixture.index, rerank: three.dir, threads: 1, log: () => undefined }),
        (e) => isSemsearchError(e, 'UNSUPPORTED_MODEL') && /3 outputs/.test(e.message),
      );
    } finally {
      three.cleanup();
    }
  });
});
