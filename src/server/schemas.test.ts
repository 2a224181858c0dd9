import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApiDocument } from './openapi.js';
import { buildSchemas, DEFAULT_LIMITS } from './schemas.js';
import { validate } from './validate.js';

const s = buildSchemas({ ...DEFAULT_LIMITS, maxTexts: 3, maxTextChars: 10, maxK: 20 });

test('search requests: one query or a batch, k in range, known fields only', () => {
  assert.equal(validate({ query: 'london' }, s.searchRequest), undefined);
  assert.equal(validate({ queries: ['a', 'b'], k: 20, rescore: false, rescore_multiplier: 10, exact: true, ef: 128 }, s.searchRequest), undefined);
  const cases: [unknown, string, string, RegExp][] = [
    [{}, 'INVALID_ARGUMENT', 'body', /exactly one of query, queries/],
    [{ query: 'a', queries: ['b'] }, 'INVALID_ARGUMENT', 'body', /exactly one of/],
    [{ qurey: 'a' }, 'INVALID_ARGUMENT', 'qurey', /not a known field; known: query, queries, k/],
    [{ query: 5 }, 'INVALID_ARGUMENT', 'query', /must be a string, got integer/],
    [{ query: '' }, 'INVALID_ARGUMENT', 'query', /at least 1 character/],
    [{ query: 'x'.repeat(11) }, 'LIMIT_EXCEEDED', 'query', /11 characters; the server accepts at most 10/],
    [{ queries: [] }, 'EMPTY_INPUT', 'queries', /at least 1 item/],
    [{ queries: ['a', 'b', 'c', 'd'] }, 'LIMIT_EXCEEDED', 'queries', /4 items; the server accepts at most 3/],
    [{ queries: ['a', null] }, 'INVALID_ARGUMENT', 'queries[1]', /must be a string, got null/],
    [{ queries: 'a' }, 'INVALID_ARGUMENT', 'queries', /must be an array, got string/],
    [{ query: 'a', k: 0 }, 'INVALID_ARGUMENT', 'k', /at least 1/],
    [{ query: 'a', k: 21 }, 'LIMIT_EXCEEDED', 'k', /at most 20, got 21/],
    [{ query: 'a', k: 2.5 }, 'INVALID_ARGUMENT', 'k', /must be an integer, got number/],
    [{ query: 'a', k: '5' }, 'INVALID_ARGUMENT', 'k', /must be an integer, got string/],
    [{ query: 'a', rescore: 'no' }, 'INVALID_ARGUMENT', 'rescore', /must be a boolean/],
    [{ query: 'a', ef: 0 }, 'INVALID_ARGUMENT', 'ef', /at least 1/],
    [{ query: 'a', mode: 'sparse' }, 'INVALID_ARGUMENT', 'mode', /must be one of "vector", "keyword", "hybrid", got "sparse"/],
    [{ query: 'a', vector_weight: 1.5 }, 'LIMIT_EXCEEDED', 'vector_weight', /at most 1/],
    [{ query: 'a', rescore_multiplier: 101 }, 'LIMIT_EXCEEDED', 'rescore_multiplier', /at most 100, got 101/],
    [{ query: 'a', ef: 4097 }, 'LIMIT_EXCEEDED', 'ef', /at most 4096, got 4097/],
    [[{ query: 'a' }], 'INVALID_ARGUMENT', 'body', /must be an object, got array/],
    ['london', 'INVALID_ARGUMENT', 'body', /must be an object, got string/],
    [null, 'INVALID_ARGUMENT', 'body', /must be an object, got null/],
  ];
  for (const [body, code, field, message] of cases) {
    const f = validate(body, s.searchRequest);
    assert.ok(f !== undefined, JSON.stringify(body));
    assert.equal(f.code, code, JSON.stringify(body));
    assert.equal(f.field, field, JSON.stringify(body));
    assert.match(f.message, message, JSON.stringify(body));
  }
});

test('encode and similarity requests', () => {
  assert.equal(validate({ texts: ['a'], precision: 'ubinary', normalize: true }, s.encodeRequest), undefined);
  assert.match(validate({ texts: ['a'], precision: 'int4' }, s.encodeRequest)?.message ?? '', /precision: must be one of "float32", "int8", "uint8", "binary", "ubinary"/);
  assert.equal(validate({ precision: 'int8' }, s.encodeRequest)?.field, 'texts');
  assert.equal(validate({ queries: ['a'], passages: ['b', 'c'] }, s.similarityRequest), undefined);
  assert.equal(validate({ queries: ['a'] }, s.similarityRequest)?.field, 'passages');
});

test('the OpenAPI document embeds the very schemas the server validates with', () => {
  const doc = openApiDocument(s, '0.0.0');
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.components.schemas.SearchRequest, s.searchRequest);
  assert.equal(doc.components.schemas.EncodeRequest, s.encodeRequest);
  assert.equal(doc.components.schemas.SimilarityRequest, s.similarityRequest);
  assert.equal((doc.components.schemas.SearchRequest.properties?.['k'] as { maximum: number }).maximum, 20);
  for (const path of ['/search', '/encode', '/similarity', '/info', '/health', '/ready', '/metrics', '/openapi.json']) assert.ok(path in doc.paths, path);
  // Every $ref points at a schema that exists.
  const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? [];
  for (const r of refs) assert.ok(r.split('/').pop() as string in doc.components.schemas, r);
});
