import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { cosSim } from '../score/similarity.js';
import { buildIndex } from '../store/build-index.js';
import { chunkingFor, documentRows } from '../store/chunk-rows.js';
import { openIndex } from '../store/search-index.js';
import { passageText } from '../store/test-support/living.js';
import { seededRandom } from '../tensor/random.js';
import { retrieve } from './retrieve.js';

const DISTILBERT = fileURLToPath(new URL('../model/fixtures/models/distilbert', import.meta.url));
let tmp: string;
let model: SentenceTransformer;
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-eval-chunk-'));
  model = await loadModelFromDir(DISTILBERT);
});
after(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test('retrieve with windows ranks documents by their best window: equal to brute force (each window encoded alone) and to a chunked index', async () => {
  const random = seededRandom(3);
  const corpus = new Map<string, string>();
  for (let i = 0; i < 30; i++) corpus.set(`d${i}`, Array.from({ length: 1 + Math.floor(random() * 8) }, (_, s) => `${passageText(i * 19 + s)}.`).join(' '));
  const queries = new Map(['london bridge history', 'coffee and bread recipe', 'winter snow mountain', 'passage 40 about music'].map((q, i) => [`q${i}`, q]));
  const chunking = chunkingFor(model, {});
  const windows = (text: string, id: string): string[] => documentRows(model, { id, text }, chunking).map((r) => r.input);
  const r = await retrieve(model, corpus, queries, { depth: 30, windows, corpusChunkSize: 7 });
  assert.ok([...corpus].some(([id, t]) => windows(t, id).length > 2), 'some documents are cut');

  const q = await model.encode([...queries.values()]);
  const best = new Map<string, number[]>();
  for (const [id, text] of corpus) {
    const s = cosSim(q, await model.encode(windows(text, id)));
    best.set(id, [...queries.keys()].map((_, qi) => Math.max(...Array.from(s.data.subarray(qi * s.dim, (qi + 1) * s.dim)))));
  }
  [...queries.keys()].forEach((qid, qi) => {
    const want = [...corpus.keys()].sort((a, b) => (best.get(b)?.[qi] as number) - (best.get(a)?.[qi] as number));
    const got = r.run.get(qid);
    assert.deepEqual(got?.docids, want, qid);
    got?.scores.forEach((s, i) => assert.ok(Math.abs(s - (best.get(want[i] as string)?.[qi] as number)) < 1e-5));
  });

  const file = join(tmp, 'c.tsv');
  writeFileSync(file, [...corpus].map(([id, t]) => `${id}\t${t}`).join('\n') + '\n');
  await buildIndex({ corpus: file, out: join(tmp, 'ix'), model, modelRef: DISTILBERT, chunk: true });
  const index = await openIndex(join(tmp, 'ix'), { model });
  try {
    const hits = await index.searchEmbeddings(await model.encodeQuery([...queries.values()]), 30);
    [...queries.keys()].forEach((qid, qi) => assert.deepEqual(hits[qi]?.map((h) => h.id), r.run.get(qid)?.docids, `${qid}: the chunked index`));
  } finally {
    await index.close();
  }
});
