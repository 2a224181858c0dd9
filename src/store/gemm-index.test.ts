import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { Matrix } from '../tensor/matrix.js';
import { gaussian } from '../test-support/vectors.js';
import { buildIndex } from './build-index.js';
import { GEMM_MIN_QUERIES, openIndex } from './search-index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BERT = join(ROOT, 'src/model/fixtures/models/bert');

let tmp: string;
let model: SentenceTransformer;
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-gemm-'));
  model = await loadModelFromDir(BERT);
  // Repeated texts give equal vectors, so hits tie and the tie order is checked too.
  const lines = Array.from({ length: 600 }, (_, i) => `p${i}\tpassage ${i % 97} about topic ${i % 13} and ${(i * 7) % 31}`);
  writeFileSync(join(tmp, 'collection.tsv'), lines.join('\n') + '\n');
});
after(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test('a batch of queries (the Gemm path) gets from an index exactly what each query alone (the scan) gets, after deletes too', async () => {
  for (const precision of ['float32', 'float16', 'int8'] as const) {
    const out = join(tmp, precision);
    await buildIndex({ corpus: join(tmp, 'collection.tsv'), out, model, modelRef: BERT, precision, shardSize: 128 });
    const index = await openIndex(out, { model, searchThreads: 1 });
    try {
      const dim = index.manifest.dim;
      const queries = gaussian(GEMM_MIN_QUERIES * 3, dim, 11);
      // Some queries are stored texts' own embeddings: their best hits tie with every copy of that text.
      const own = await model.encode(['passage 5 about topic 5 and 4', 'passage 1 about topic 1 and 7']);
      queries.data.set(own.data, 0);
      const alone = async (k: number) => {
        const hits = [];
        for (let qi = 0; qi < queries.rows; qi++) hits.push(...(await index.searchEmbeddings(new Matrix(1, dim, queries.row(qi)), k)));
        return hits;
      };
      for (const k of [1, 10, 700]) assert.deepEqual(await index.searchEmbeddings(queries, k), await alone(k), `${precision} k ${k}`);
      await index.delete(Array.from({ length: 150 }, (_, i) => `p${i * 4}`));
      assert.deepEqual(await index.searchEmbeddings(queries, 10), await alone(10), `${precision} after deletes`);
    } finally {
      await index.close();
    }
  }
});
