import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { buildIndex } from '../store/build-index.js';
import { buildIvfIndex } from '../store/ivf.js';
import { openIndex } from '../store/search-index.js';
import { passageText } from '../store/test-support/living.js';
import { buildSchemas, DEFAULT_LIMITS } from './schemas.js';
import { createServer, type SemsearchServer } from './server.js';
import { postJson } from './test-support/fixture.js';
import { validate } from './validate.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const schemas = buildSchemas(DEFAULT_LIMITS);
const NLIST = 8;
const ROWS = 300;
let tmp: string;
let dir: string;
let model: SentenceTransformer;
let server: SemsearchServer;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-serve-ivf-'));
  model = await loadModelFromDir(BERT);
  const corpus = join(tmp, 'c.tsv');
  writeFileSync(corpus, Array.from({ length: ROWS }, (_, i) => `p${i}\t${passageText(i)}`).join('\n') + '\n');
  dir = join(tmp, 'ix');
  await buildIndex({ corpus, out: dir, model, modelRef: BERT, precision: 'binary', shardSize: 64 });
  // nprobe 2 of 8: the default a search gets must be the lists' own, not every list.
  await buildIvfIndex(dir, { nlist: NLIST, nprobe: 2, iterations: 2, seed: 3, threads: 1 });
  server = await createServer({ index: dir, workers: 1, log: () => undefined });
});
after(async () => {
  await server?.close();
  await model?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

interface Hit {
  id: string;
  score: number;
}

test('an IVF index served: /info names its lists, and /search with or without nprobe answers as the library does', async () => {
  const info = (await (await fetch(`${server.url}/info`)).json()) as Record<string, unknown>;
  assert.equal(validate(info, schemas.infoResponse), undefined);
  assert.deepEqual(info['ivf'], { nlist: NLIST, nprobe: 2, rows: ROWS });

  const queries = ['alpha harbour', 'river storm engine', 'garden music', 'city'];
  const library = await openIndex(dir, { model });
  try {
    const exact = await library.search(queries, 7, { nprobe: NLIST });
    for (const nprobe of [undefined, 1, 2, 5, NLIST]) {
      const r = await postJson(`${server.url}/search`, { queries, k: 7, ...(nprobe !== undefined ? { nprobe } : {}) });
      assert.equal(r.status, 200, r.text);
      assert.equal(validate(r.json, schemas.searchResponse), undefined);
      const got = (r.json.results as { hits: Hit[] }[]).map((x) => x.hits.map((h) => [h.id, h.score]));
      const want = (await library.search(queries, 7, nprobe !== undefined ? { nprobe } : {})).map((hits) => hits.map((h) => [h.id, h.score]));
      assert.deepEqual(got, want, `nprobe ${nprobe}`);
      if (nprobe === undefined) assert.deepEqual(got, (await library.search(queries, 7, { nprobe: 2 })).map((hits) => hits.map((h) => [h.id, h.score])));
    }
    // Every list probed is the exact binary path: an index without lists gives the same hits.
    const plainDir = join(tmp, 'plain');
    await buildIndex({ corpus: join(tmp, 'c.tsv'), out: plainDir, model, modelRef: BERT, precision: 'binary', shardSize: 64 });
    const plain = await openIndex(plainDir, { model });
    try {
      assert.deepEqual(
        exact.map((hits) => hits.map((h) => [h.id, h.score])),
        (await plain.search(queries, 7)).map((hits) => hits.map((h) => [h.id, h.score])),
      );
    } finally {
      await plain.close();
    }
  } finally {
    await library.close();
  }

  for (const nprobe of [0, NLIST + 1]) {
    const bad = await postJson(`${server.url}/search`, { query: 'city', nprobe });
    assert.equal(bad.status, 400, bad.text);
    const error = bad.json.error as { code: string; field?: string; message: string };
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal(error.field, 'nprobe');
  }
});
