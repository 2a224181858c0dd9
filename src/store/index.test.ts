import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { semanticSearch } from '../score/semantic-search.js';
import { cosSim } from '../score/similarity.js';
import { buildIndex } from './build-index.js';
import { DocStore } from './doc-store.js';
import { readManifest } from './manifest.js';
import { openIndex } from './search-index.js';
import { sharedFile, skipWithoutShared } from '../test-support/files.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BERT = join(ROOT, 'src/model/fixtures/models/bert');
const MPNET = join(ROOT, 'src/model/fixtures/models/mpnet');
const SUBSET = ['msmarco-passage-dl19-relevant-subset', 'collection.tsv'];
// Every suite reads the shared MS MARCO subset; without ../shared they all skip, saying so.
const SKIP = skipWithoutShared(...SUBSET);
const QUERIES = ['how big is london', 'what is the capital of france', 'symptoms of flu', 'how to cook rice', 'when did world war 2 end'];

let tmp: string;
let corpus: string;
let lines: string[];
let model: SentenceTransformer;

before(async () => {
  if (SKIP !== false) return;
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-index-'));
  // A slice of the real MS MARCO passages in shared/data, as a collection.tsv of our own.
  lines = readFileSync(sharedFile(...SUBSET), 'utf8').split('\n').filter((l) => l !== '').slice(0, 700);
  corpus = join(tmp, 'collection.tsv');
  writeFileSync(corpus, lines.join('\n') + '\n');
  model = await loadModelFromDir(BERT);
});
after(async () => {
  if (SKIP !== false) return;
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('building and searching an index', { skip: SKIP }, () => {
  test('float32 exact search gives the same hits as semanticSearch over the same embeddings', async () => {
    const out = join(tmp, 'f32');
    const r = await buildIndex({ corpus, out, model: BERT, shardSize: 128 });
    assert.equal(r.manifest.count, lines.length);
    assert.equal(r.manifest.shards.length, Math.ceil(lines.length / 128));
    assert.ok(r.manifest.complete);
    const index = await openIndex(out, { model });
    const hits = await index.search(QUERIES, 10);
    const emb = await model.encode(lines.map((l) => l.slice(l.indexOf('\t') + 1)));
    const q = await model.encodeQuery(QUERIES);
    const want = semanticSearch(q, emb, { topK: 10, scoreFunction: cosSim });
    hits.forEach((h, i) => {
      assert.deepEqual(
        h.map((x) => x.index),
        (want[i] ?? []).map((w) => w.corpusId),
      );
      h.forEach((x, j) => assert.ok(Math.abs(x.score - (want[i]?.[j]?.score as number)) < 1e-5));
      h.forEach((x) => assert.equal(x.id, (lines[x.index] as string).split('\t')[0]));
    });
    const info = index.info();
    assert.equal(info.count, lines.length);
    assert.equal(info.vectorBytes, lines.length * 32 * 4);
    await index.close();
  });

  test('float16 and int8 indexes find nearly what float32 finds; binary stores sign bits plus int8 rescoring rows', async () => {
    const exact = await openIndex(join(tmp, 'f32'), { model });
    const truth = await exact.search(QUERIES, 10);
    await exact.close();
    // The tiny test model's vectors share one dominant direction, so their sign bits carry little: binary recall
    // is measured on real-shaped vectors in exact-search.test.ts; here it only has to return valid passages.
    for (const [precision, minRecall] of [['float16', 0.98], ['int8', 0.9], ['binary', 0]] as const) {
      const out = join(tmp, precision);
      await buildIndex({ corpus, out, model, modelRef: BERT, precision, shardSize: 256 });
      const index = await openIndex(out, { model });
      const got = await index.search(QUERIES, 10);
      let found = 0;
      got.forEach((h, i) => (found += h.filter((x) => truth[i]?.some((t) => t.index === x.index)).length));
      const recall = found / (QUERIES.length * 10);
      assert.ok(recall >= minRecall, `${precision} recall@10 ${recall}`);
      got.forEach((h) => {
        assert.equal(h.length, 10);
        h.forEach((x) => assert.equal(x.id, (lines[x.index] as string).split('\t')[0]));
      });
      const bytesPerRow = { float16: 64, int8: 32, binary: 4 + 32 }[precision];
      assert.equal(index.info().vectorBytes, lines.length * bytesPerRow);
      await index.close();
    }
  });

  test('other corpus formats: BEIR jsonl, candidate JSON lists, a folder of text files', async () => {
    const beir = join(tmp, 'corpus.jsonl');
    writeFileSync(beir, ['{"_id":"d1","title":"London","text":"London is big."}', '{"_id":"d2","title":"","text":"Paris is the capital of France."}'].join('\n'));
    const b = await buildIndex({ corpus: beir, out: join(tmp, 'beir'), model, modelRef: BERT });
    assert.equal(b.manifest.count, 2);
    const cand = await buildIndex({ corpus: sharedFile('msmarco-passage-trec-dl-candidates', 'BM25', 'retrieve_results_dl19.json'), out: join(tmp, 'cand'), model, modelRef: BERT, limit: 300, shardSize: 100 });
    assert.equal(cand.manifest.count, 300);
    const folder = join(tmp, 'docs');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'a.md'), '# Title\n\nFirst paragraph about London.\n\nSecond paragraph about Paris.\n');
    writeFileSync(join(folder, 'sub', 'b.txt'), Array.from({ length: 450 }, (_, i) => `word${i}`).join(' '));
    writeFileSync(join(folder, 'skip.bin'), 'not text');
    const f = await buildIndex({ corpus: folder, out: join(tmp, 'folder'), model, modelRef: BERT });
    // a.md fits one passage; b.txt's 450 words split into 200 + 200 + 50.
    assert.equal(f.manifest.count, 4);
    const index = await openIndex(join(tmp, 'folder'), { model });
    const all = (await index.searchEmbeddings(new Float32Array(32).fill(1), 4))[0];
    const ids = [0, 1, 2, 3].map((i) => all?.find((h) => h.index === i)?.id);
    assert.deepEqual(ids, ['a.md#0', 'sub/b.txt#0', 'sub/b.txt#1', 'sub/b.txt#2']);
    await index.close();
  });
});

describe('resume and crash safety', { skip: SKIP }, () => {
  test('a stopped build resumes where it stopped: same passages, same order, no duplicates', async () => {
    const out = join(tmp, 'resume');
    const first = await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 100, limit: 250 });
    assert.equal(first.manifest.complete, false);
    assert.equal(first.manifest.count, 250);
    const second = await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 100 });
    assert.equal(second.resumedFrom, 250);
    assert.equal(second.added, lines.length - 250);
    assert.ok(second.manifest.complete);
    const docs = new DocStore(join(out, 'docs.sqlite'), { readonly: true });
    assert.equal(docs.count(), lines.length);
    for (const i of [0, 249, 250, lines.length - 1]) assert.equal(docs.get(i)?.id, (lines[i] as string).split('\t')[0]);
    docs.close();
    const third = await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 100 });
    assert.equal(third.added, 0);
  });

  test('kill -9 during a build, run the same command again: nothing lost or duplicated, results as a clean build', async () => {
    const out = join(tmp, 'killed');
    const args = ['--conditions=source', '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'index', corpus, '-m', BERT, '-o', out, '--shard-size', '50', '--batch-size', '8'];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let killedAt = -1;
    for (let i = 0; i < 600 && killedAt < 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      if (existsSync(join(out, 'manifest.json'))) {
        try {
          const m = readManifest(out);
          if (m.count >= 100 && !m.complete) {
            child.kill('SIGKILL');
            killedAt = m.count;
          }
        } catch {
          // the manifest is replaced atomically, but a read can race the first write of the folder
        }
      }
    }
    assert.ok(killedAt >= 100, 'the build was killed part way');
    await exited;
    assert.ok(!readManifest(out).complete);
    const rerun = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    assert.equal(await new Promise<number | null>((res) => rerun.on('exit', (code) => res(code))), 0);
    const m = readManifest(out);
    assert.ok(m.complete);
    assert.equal(m.count, lines.length);
    const docs = new DocStore(join(out, 'docs.sqlite'), { readonly: true });
    assert.equal(docs.count(), lines.length);
    for (let i = 0; i < lines.length; i += 37) assert.equal(docs.get(i)?.id, (lines[i] as string).split('\t')[0]);
    docs.close();
    const a = await openIndex(out, { model });
    const b = await openIndex(join(tmp, 'f32'), { model });
    const ha = await a.search(QUERIES, 10);
    const hb = await b.search(QUERIES, 10);
    ha.forEach((h, i) => assert.deepEqual(h.map((x) => x.id), hb[i]?.map((x) => x.id)));
    await a.close();
    await b.close();
  });

  test('a damaged or truncated shard refuses to load, naming the file', async () => {
    const out = join(tmp, 'damaged');
    await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 300 });
    const m = readManifest(out);
    const shard = join(out, m.shards[1]?.file as string);
    const bytes = readFileSync(shard);
    bytes[17] = (bytes[17] as number) ^ 0xff;
    writeFileSync(shard, bytes);
    await assert.rejects(openIndex(out, { model }), (e: { code: string; file: string }) => e.code === 'INDEX_CORRUPT' && e.file === shard);
    writeFileSync(shard, bytes.subarray(0, 100));
    await assert.rejects(openIndex(out, { model }), (e: { code: string; message: string }) => e.code === 'INDEX_CORRUPT' && /has 100 bytes/.test(e.message));
  });
});

describe('bad input', { skip: SKIP }, () => {
  test('a query with another model, or resuming with another model, is refused', async () => {
    const other = await loadModelFromDir(MPNET);
    await assert.rejects(openIndex(join(tmp, 'f32'), { model: other }), { code: 'INDEX_MISMATCH', field: 'model' });
    await assert.rejects(buildIndex({ corpus, out: join(tmp, 'resume'), model: other, modelRef: MPNET }), { code: 'INDEX_MISMATCH' });
    await other.dispose();
  });

  test('malformed lines, empty passages and repeated ids: a coded error with the line, or skipped and counted', async () => {
    const bad = join(tmp, 'bad.tsv');
    writeFileSync(bad, ['1\tfirst passage', '2\tsecond passage', 'no tab on this line', '3\tthird'].join('\n'));
    await assert.rejects(buildIndex({ corpus: bad, out: join(tmp, 'bad1'), model, modelRef: BERT }), { code: 'MALFORMED_LINE', line: 3, file: bad });
    assert.ok(!existsSync(join(tmp, 'bad1', 'manifest.json')), 'nothing was committed');

    const dup = join(tmp, 'dup.tsv');
    writeFileSync(dup, ['1\tfirst passage', '2\t   ', '1\tagain', '3\tthird'].join('\n'));
    await assert.rejects(buildIndex({ corpus: dup, out: join(tmp, 'dup1'), model, modelRef: BERT }), { code: 'EMPTY_PASSAGE', line: 2 });
    writeFileSync(dup, ['1\tfirst passage', '2\tsecond', '1\tagain', '3\tthird'].join('\n'));
    await assert.rejects(buildIndex({ corpus: dup, out: join(tmp, 'dup2'), model, modelRef: BERT }), { code: 'DUPLICATE_ENTRY', line: 3 });
    appendFileSync(dup, '\n4\t \n');
    const skipped = await buildIndex({ corpus: dup, out: join(tmp, 'dup3'), model, modelRef: BERT, skipBad: true });
    assert.equal(skipped.manifest.count, 3);
    assert.equal(skipped.skipped, 2);

    await assert.rejects(buildIndex({ corpus: join(tmp, 'missing.tsv'), out: join(tmp, 'x'), model, modelRef: BERT }), { code: 'FILE_NOT_FOUND' });
    await assert.rejects(openIndex(join(tmp, 'nowhere')), { code: 'INDEX_NOT_FOUND' });
  });
});

test('binary indexes: a rescore multiplier that reaches every row gives the int8 index hits; a bad one is a coded error', { skip: SKIP }, async () => {
  const bin = join(tmp, 'mult-binary');
  const i8 = join(tmp, 'mult-int8');
  await buildIndex({ corpus, out: bin, model, modelRef: BERT, shardSize: 256, precision: 'binary' });
  await buildIndex({ corpus, out: i8, model, modelRef: BERT, shardSize: 256, precision: 'int8' });
  const b = await openIndex(bin, { model });
  const c = await openIndex(i8, { model });
  // 7 × 100 candidates cover all 700 rows: every row is rescored on the same int8 codes the int8 index scans.
  assert.deepEqual(await b.search(QUERIES, 7, { rescoreMultiplier: 100 }), await c.search(QUERIES, 7));
  for (const rescoreMultiplier of [0, 2.5, 101]) {
    await assert.rejects(b.search(QUERIES, 7, { rescoreMultiplier }), (e: { code: string; field: string }) => e.code === 'INVALID_ARGUMENT' && e.field === 'rescoreMultiplier');
  }
  await b.close();
  await c.close();
});

test('keyword (BM25, FTS5) and hybrid search: the exact-term passage comes first by keyword, hybrid fuses both rankings', { skip: SKIP }, async () => {
  const out = join(tmp, 'hybrid');
  await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 256 });
  const index = await openIndex(out, { model });
  // A word that occurs in few passages: BM25 must put a passage holding it first.
  const [kw] = await index.search('tornado watch', 5, { mode: 'keyword' });
  assert.ok(kw !== undefined && kw.length > 0);
  assert.match((kw[0] as { text: string }).text, /tornado/i);
  for (let i = 1; i < kw.length; i++) assert.ok((kw[i - 1] as { score: number }).score >= (kw[i] as { score: number }).score);
  assert.deepEqual(await index.search('?!', 5, { mode: 'keyword' }), [[]], 'a query without words matches nothing');
  // Hybrid = fuse(vector top-100, keyword top-100), cut to k.
  const { fuse } = await import('./fusion.js');
  const [vec] = await index.search('tornado watch', 100);
  const [kw100] = await index.search('tornado watch', 100, { mode: 'keyword' });
  const [hy] = await index.search('tornado watch', 5, { mode: 'hybrid' });
  assert.deepEqual(
    hy?.map((h) => [h.index, h.score]),
    fuse(vec ?? [], kw100 ?? []).slice(0, 5).map((h) => [h.index, h.score]),
  );
  const [w] = await index.search('tornado watch', 5, { mode: 'hybrid', fusion: 'weighted', vectorWeight: 0 });
  assert.deepEqual(w?.map((h) => h.index), kw.map((h) => h.index), 'weighted with vectorWeight 0 is the keyword ranking');
  await assert.rejects(index.search('x', 5, { mode: 'sparse' as never }), (e: { code: string; field: string }) => e.code === 'INVALID_ARGUMENT' && e.field === 'mode');
  await assert.rejects(index.search('x', 5, { mode: 'hybrid', fusionDepth: 0 }), (e: { code: string; field: string }) => e.field === 'fusionDepth');
  await index.close();
});

test('an index from before the keyword index: keyword search is a coded error until semsearch index runs on it again', { skip: SKIP }, async () => {
  const out = join(tmp, 'no-fts');
  await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 256 });
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(out, 'docs.sqlite'));
  db.exec('DROP TABLE docs_fts');
  db.close();
  let index = await openIndex(out, { model });
  await assert.rejects(index.search('tornado', 3, { mode: 'keyword' }), (e: { code: string; field: string }) => e.code === 'INDEX_MISMATCH' && e.field === 'mode');
  assert.equal((await index.search('tornado', 3))[0]?.length, 3, 'vector search still works');
  await index.close();
  await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 256 });
  index = await openIndex(out, { model });
  assert.match((await index.search('tornado watch', 1, { mode: 'keyword' }))[0]?.[0]?.text ?? '', /tornado/i);
  await index.close();
});

describe('approximate search', { skip: SKIP }, () => {
  test('an HNSW graph (usearch) finds what exact search finds, and a damaged graph refuses to load', async () => {
    const { buildAnnIndex } = await import('./ann.js');
    const out = join(tmp, 'ann');
    await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 256 });
    const ann = await buildAnnIndex(out, { quantization: 'f16' });
    assert.equal(readManifest(out).ann?.file, ann.file);
    const index = await openIndex(out, { model });
    assert.ok(index.hasAnn);
    const approx = await index.search(QUERIES, 10);
    const exact = await index.search(QUERIES, 10, { exact: true });
    let found = 0;
    approx.forEach((h, i) => (found += h.filter((x) => exact[i]?.some((e) => e.index === x.index)).length));
    assert.ok(found / (QUERIES.length * 10) >= 0.9, `recall@10 ${found / 50}`);
    approx.forEach((h, i) => h.forEach((x) => assert.equal(x.id, (lines[x.index] as string).split('\t')[0], `query ${i}`)));
    assert.equal(index.info().ann?.quantization, 'f16');
    await index.close();
    const f = join(out, ann.file);
    const bytes = readFileSync(f);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0xff;
    writeFileSync(f, bytes);
    await assert.rejects(openIndex(out, { model }), (e: { code: string; file: string }) => e.code === 'INDEX_CORRUPT' && e.file === f);
  });

  for (const quantization of ['i8', 'f16', 'f32'] as const) {
    test(`hits from an ${quantization} graph carry the exact path's scores, on the model's similarity scale`, async () => {
      const { buildAnnIndex } = await import('./ann.js');
      const out = join(tmp, `ann-scale-${quantization}`);
      await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 256 });
      await buildAnnIndex(out, { quantization });
      const index = await openIndex(out, { model });
      const approx = await index.search(QUERIES, 10);
      const exactAll = await index.search(QUERIES, index.count, { exact: true });
      approx.forEach((hits, qi) => {
        const exactScore = new Map((exactAll[qi] ?? []).map((h) => [h.index, h.score]));
        for (const h of hits) {
          // bert is a cosine model: scores are cosines, never an i8 graph's integer inner products.
          assert.ok(h.score <= 1 + 1e-6 && h.score >= -1 - 1e-6, `score ${h.score}`);
          assert.equal(h.score, exactScore.get(h.index), `query ${qi} row ${h.index}`);
        }
        for (let i = 1; i < hits.length; i++) assert.ok((hits[i - 1] as { score: number }).score >= (hits[i] as { score: number }).score, 'best first');
      });
      await index.close();
    });
  }

  test('the default i8 graph scales vectors to the int8 range (recorded in the manifest) and finds the exact hits at full ef', async () => {
    const { buildAnnIndex } = await import('./ann.js');
    const out = join(tmp, 'ann-i8-scale');
    await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 256 });
    const entry = await buildAnnIndex(out);
    assert.equal(entry.quantization, 'i8');
    const m = readManifest(out);
    let maxAbs = 0;
    for (const s of m.shards) for (const x of new Float32Array(readFileSync(join(out, s.file)).buffer.slice(0))) maxAbs = Math.max(maxAbs, Math.abs(x));
    assert.equal(m.ann?.scale, 1 / maxAbs);
    assert.ok((m.ann?.scale ?? 0) > 1, 'unit vectors are spread over the whole int8 range');
    const index = await openIndex(out, { model });
    assert.deepEqual(await index.search(QUERIES, 5, { ef: index.count }), await index.search(QUERIES, 5, { exact: true }));
    await index.close();
  });

  test('per-query ef: a larger expansion rescores more candidates and reaches the exact top-k; a bad ef is a coded error', async () => {
    const { buildAnnIndex } = await import('./ann.js');
    const out = join(tmp, 'ann-ef');
    await buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 256 });
    await buildAnnIndex(out, { quantization: 'f32', expansionSearch: 1 });
    const index = await openIndex(out, { model });
    const exact = await index.search(QUERIES, 5, { exact: true });
    // An expansion as large as the index walks to every row, and the exact rescoring then orders them as a scan does.
    const wide = await index.search(QUERIES, 5, { ef: index.count });
    assert.deepEqual(wide, exact);
    const narrow = await index.search(QUERIES, 5, { ef: 1 });
    narrow.forEach((hits) => assert.equal(hits.length, 5));
    for (const ef of [0, 1.5, 5000]) {
      await assert.rejects(index.search(QUERIES, 5, { ef }), (e: { code: string; field: string }) => e.code === 'INVALID_ARGUMENT' && e.field === 'ef');
    }
    await index.close();
  });
});
