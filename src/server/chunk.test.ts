import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { buildIndex } from '../store/build-index.js';
import { openIndex } from '../store/search-index.js';
import { passageText } from '../store/test-support/living.js';
import { buildSchemas, DEFAULT_LIMITS } from './schemas.js';
import { createServer, type SemsearchServer } from './server.js';
import { postJson } from './test-support/fixture.js';
import { validate } from './validate.js';

const DISTILBERT = fileURLToPath(new URL('../model/fixtures/models/distilbert', import.meta.url));
const schemas = buildSchemas(DEFAULT_LIMITS);
let tmp: string;
let dir: string;
let model: SentenceTransformer;
let server: SemsearchServer;

interface Hit {
  id: string;
  score: number;
  text: string;
  index: number;
  chunk?: { number: number; start: number; end: number; score: number };
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-serve-chunk-'));
  model = await loadModelFromDir(DISTILBERT);
  const corpus = join(tmp, 'docs.tsv');
  writeFileSync(corpus, Array.from({ length: 15 }, (_, i) => `d${i}\t${Array.from({ length: 1 + (i % 7) }, (_, s) => `${passageText(i * 11 + s)}.`).join(' ')}`).join('\n') + '\n');
  dir = join(tmp, 'ix');
  await buildIndex({ corpus, out: dir, model, modelRef: DISTILBERT, chunk: true });
  server = await createServer({ index: dir, workers: 1, log: () => undefined });
});
after(async () => {
  await server?.close();
  await model?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test('POST /search on a chunked index: one hit per document with its best window, as the library answers (max and sum); writes remove every window', async () => {
  const queries = ['london bridge history', 'coffee and bread recipe'];
  const library = await openIndex(dir, { model });
  try {
    for (const body of [{}, { chunk_score: 'sum', sum_chunks: 2 }, { mode: 'hybrid' }] as const) {
      const r = await postJson(`${server.url}/search`, { queries, k: 6, ...body });
      assert.equal(r.status, 200, r.text);
      assert.equal(validate(r.json, schemas.searchResponse), undefined);
      const got = (r.json.results as { hits: Hit[] }[]).map((x) => x.hits);
      const want = await library.search(queries, 6, {
        ...('chunk_score' in body ? { chunkScore: body.chunk_score, sumChunks: body.sum_chunks } : {}),
        ...('mode' in body ? { mode: body.mode } : {}),
      });
      assert.deepEqual(
        got.map((h) => h.map((x) => [x.id, x.index, x.chunk?.number])),
        want.map((h) => h.map((x) => [x.id, x.index, x.chunk?.number])),
        JSON.stringify(body),
      );
      for (const hits of got) {
        assert.equal(new Set(hits.map((h) => h.id)).size, hits.length);
        for (const h of hits) assert.ok(h.chunk !== undefined && h.chunk.end > h.chunk.start);
      }
    }
    const del = await fetch(`${server.url}/documents/d6`, { method: 'DELETE' });
    assert.equal(del.status, 200, await del.text());
    const all = await postJson(`${server.url}/search`, { query: 'passage', k: 50 });
    const ids = (all.json.results as { hits: Hit[] }[])[0]?.hits.map((h) => h.id) ?? [];
    assert.equal(ids.length, 14);
    assert.ok(!ids.includes('d6'));
  } finally {
    await library.close();
  }
});
