import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSemsearchError } from '../errors.js';
import type { IndexModelInfo } from '../store/manifest.js';
import { checkBackendValues } from '../cli/backend.js';
import { isTransient } from './connection.js';
import { checkIndexName, createBody, spaceTypeOf, type RemoteMeta } from './mapping.js';
import { filterQuery, float32Json, similarityFromScore, vectorJson } from './query.js';

const FIELDS = { year: 'number', lang: 'string', draft: 'boolean' } as const;

test('filters become the OpenSearch DSL of the same meaning', () => {
  assert.deepEqual(filterQuery({ lang: 'de' }, FIELDS), { term: { 'metadata.lang': 'de' } });
  assert.deepEqual(filterQuery({ id: { in: ['a', 'b'] } }, FIELDS), { terms: { id: ['a', 'b'] } });
  assert.deepEqual(filterQuery({ year: { gte: 2000, lt: 2010 } }, FIELDS), { range: { 'metadata.year': { gte: 2000, lt: 2010 } } });
  assert.deepEqual(filterQuery({ year: { eq: 2001, lte: 2005 } }, FIELDS), { bool: { filter: [{ term: { 'metadata.year': 2001 } }, { range: { 'metadata.year': { lte: 2005 } } }] } });
  assert.deepEqual(filterQuery({ lang: 'en', draft: false }, FIELDS), { bool: { filter: [{ term: { 'metadata.lang': 'en' } }, { term: { 'metadata.draft': false } }] } });
  assert.deepEqual(filterQuery({ or: [{ lang: 'fr' }, { not: { draft: true } }] }, FIELDS), {
    bool: { should: [{ term: { 'metadata.lang': 'fr' } }, { bool: { must_not: [{ term: { 'metadata.draft': true } }] } }], minimum_should_match: 1 },
  });
  assert.deepEqual(filterQuery({ and: [{ lang: 'fr' }, { year: 1999 }] }, FIELDS), { bool: { filter: [{ term: { 'metadata.lang': 'fr' } }, { term: { 'metadata.year': 1999 } }] } });
});

test('a filter is checked as the local index checks it: unknown fields and wrong types are FILTER_INVALID', () => {
  for (const bad of [{ colour: 'red' }, { year: 'nineteen' }, { lang: { like: 'e%' } }, { and: {} }]) {
    assert.throws(
      () => filterQuery(bad, FIELDS),
      (e: unknown) => isSemsearchError(e) && e.code === 'FILTER_INVALID',
      JSON.stringify(bad),
    );
  }
});

test("k-NN scores are read back on the model's scale, for both spaces, over the whole range", () => {
  for (const sim of [-3.5, -1, -0.25, 0, 0.3, 1, 12.75]) {
    const ip = sim >= 0 ? sim + 1 : 1 / (1 - sim);
    assert.ok(Math.abs(similarityFromScore(ip, 'innerproduct') - sim) < 1e-12, `innerproduct ${sim}`);
  }
  for (const cos of [-1, -0.5, 0, 0.42, 1]) assert.ok(Math.abs(similarityFromScore((1 + cos) / 2, 'cosinesimil') - cos) < 1e-12, `cosine ${cos}`);
});

test('vectors travel as the shortest decimals that parse back to the same float32 values', () => {
  // (−0 would come back as 0: JSON has no negative zero, and no score can tell them apart.)
  const v = new Float32Array([0.1, -1e-8, 3.4028234663852886e38, 1 / 3, 0, 1.401298464324817e-45, 0.123456789, 65504]);
  const back = Float32Array.from(JSON.parse(vectorJson(v)) as number[]);
  assert.deepEqual([...back], [...v]);
  assert.equal(float32Json(Math.fround(0.1)), '0.1');
  let s = 7;
  for (let i = 0; i < 20000; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const x = new Float32Array(new Uint32Array([s]).buffer)[0] as number;
    if (Number.isFinite(x)) assert.equal(Math.fround(Number(float32Json(x))), x, `bits ${s}`);
  }
});

const model = (similarityFnName: IndexModelInfo['similarityFnName']): IndexModelInfo => ({ ref: 'm', onnxFile: 'onnx/model.onnx', modelType: 'bert', dimension: 384, similarityFnName, maxSeqLength: 256, fingerprint: 'f' });

test('the mapping comes from the model: dot models are innerproduct, cos models cosinesimil, others refused', () => {
  assert.equal(spaceTypeOf(model('dot')), 'innerproduct');
  assert.equal(spaceTypeOf(model('cosine')), 'cosinesimil');
  assert.throws(
    () => spaceTypeOf(model('euclidean')),
    (e: unknown) => isSemsearchError(e) && e.code === 'UNSUPPORTED_MODEL',
  );
  const meta: RemoteMeta = { format: 'semsearch-opensearch', version: 1, model: model('dot'), dim: 384, normalized: false, precision: 'float32', spaceType: 'innerproduct', fields: FIELDS, updatedAt: '' };
  const body = createBody(meta, { shards: 3, replicas: 1, hnsw: { m: 32 } }) as {
    settings: { index: Record<string, unknown> };
    mappings: { properties: Record<string, { type: string; dimension?: number; method?: { space_type: string; engine: string; parameters: Record<string, number> }; properties?: Record<string, { type: string }> }> };
  };
  assert.deepEqual(body.settings.index, { number_of_shards: 3, number_of_replicas: 1, knn: true, refresh_interval: '-1' });
  const v = body.mappings.properties['vector'];
  assert.equal(v?.dimension, 384);
  assert.deepEqual(v?.method, { name: 'hnsw', engine: 'lucene', space_type: 'innerproduct', parameters: { m: 32, ef_construction: 100 } });
  assert.deepEqual(body.mappings.properties['metadata']?.properties, { year: { type: 'double' }, lang: { type: 'keyword' }, draft: { type: 'boolean' } });
});

test('index names and backend options are checked before any request', () => {
  for (const bad of ['', 'Upper', 'with space', '-lead', 'a/b', 'a*b']) {
    assert.throws(
      () => checkIndexName(bad),
      (e: unknown) => isSemsearchError(e) && e.code === 'INVALID_ARGUMENT' && e.field === 'indexName',
      bad,
    );
  }
  checkIndexName('passages-2024.v1');
  assert.throws(
    () => checkBackendValues({ url: 'http://x' }),
    (e: unknown) => isSemsearchError(e) && e.field === '--url',
  );
  assert.throws(
    () => checkBackendValues({ backend: 'opensearch', url: 'http://x' }),
    (e: unknown) => isSemsearchError(e) && e.field === '--index-name',
  );
  checkBackendValues({ backend: 'opensearch', url: 'http://x', 'index-name': 'p' });
});

test("a lost node's write errors are retried; a mapping error is not", () => {
  assert.equal(isTransient(429, {}), true);
  assert.equal(isTransient(500, { type: 'node_not_connected_exception', reason: '[node2] Node not connected' }), true);
  assert.equal(isTransient(503, { type: 'unavailable_shards_exception' }), true);
  assert.equal(isTransient(400, { type: 'mapper_parsing_exception', reason: 'failed to parse field [vector]' }), false);
  assert.equal(isTransient(404, { type: 'index_not_found_exception' }), false);
});
