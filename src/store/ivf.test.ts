import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { Matrix } from '../tensor/matrix.js';
import { gaussian } from '../test-support/vectors.js';
import { buildIndex } from './build-index.js';
import { exactSearch, int8Affine, rowBitset, type ExactSearchOptions } from './exact-search.js';
import { buildIvfIndex, centroidHalfNorms, defaultNprobe, IvfSearcher, ivfParts, probeLists, readIvfLists, scanLists, type IvfLists } from './ivf.js';
import { readManifest, writeManifest, type IndexManifest } from './manifest.js';
import { openIndex } from './search-index.js';
import { IndexWriter } from './write-index.js';
import { encodeShard, readShard, writeShard, type ShardVectors } from './shards.js';
import { TopK } from './top-k.js';
import { rangesOf } from '../tensor/quantize.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BERT = join(ROOT, 'src/model/fixtures/models/bert');

let tmp: string;
let model: SentenceTransformer;
const TOPICS = ['ocean', 'harbour', 'island', 'mountain', 'river', 'desert', 'forest', 'city', 'engine', 'music', 'garden', 'storm'];
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-ivf-'));
  model = await loadModelFromDir(BERT);
  // Seeded texts with repeats: equal vectors make hamming and int8 ties, so the tie order is checked too.
  let x = 7;
  const rnd = (): number => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
  const word = (): string => TOPICS[Math.floor(rnd() * TOPICS.length)] as string;
  const lines = Array.from({ length: 900 }, (_, i) => `p${i}\ta ${word()} near the ${word()} and ${i % 41 === 0 ? 'the same words' : word()} ${i % 7}`);
  writeFileSync(join(tmp, 'collection.tsv'), lines.join('\n') + '\n');
  writeFileSync(join(tmp, 'meta.jsonl'), Array.from({ length: 900 }, (_, i) => JSON.stringify({ id: `p${i}`, lang: ['en', 'de', 'fr'][i % 3] })).join('\n') + '\n');
});
after(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

async function build(name: string, nlist: number): Promise<string> {
  const out = join(tmp, name);
  await buildIndex({ corpus: join(tmp, 'collection.tsv'), out, model, modelRef: BERT, precision: 'binary', shardSize: 128, metadata: join(tmp, 'meta.jsonl') });
  await buildIvfIndex(out, { nlist, nprobe: 2, iterations: 3, seed: 5, threads: 1 });
  return out;
}

function shardsOf(dir: string): { m: IndexManifest; shards: ShardVectors[] } {
  const m = readManifest(dir);
  return { m, shards: m.shards.map((e) => readShard(dir, e, m.precision, m.dim, true)) };
}

/** The int8 rescored score of a row, summed as the exact path sums it. */
function int8Score(q: Float32Array, row: number, m: IndexManifest, shards: readonly ShardVectors[]): number {
  const { a, c } = int8Affine(q, m.ranges as NonNullable<IndexManifest['ranges']>);
  let base = 0;
  for (const s of shards) {
    if (row < base + s.rows) {
      const codes = s.rescore as Int8Array;
      let score = 0;
      for (let i = 0; i < m.dim; i++) score += (a[i] as number) * (codes[(row - base) * m.dim + i] as number);
      return score + c;
    }
    base += s.rows;
  }
  throw new Error(`row ${row} out of range`);
}

const plain = (hits: { index: number; score: number }[][]): { row: number; score: number }[][] => hits.map((l) => l.map((h) => ({ row: h.index, score: h.score })));

test('IVF with every list probed returns exactly the exact binary + int8 path (ids, scores, ties), with deletes, upserts, filters and after compact', async () => {
  const nlist = 12;
  const out = await build('all', nlist);
  const index = await openIndex(out, { model, searchThreads: 1 });
  try {
    const queries = gaussian(24, index.manifest.dim, 3);
    const own = await model.encode(['a ocean near the harbour and the same words 0', 'a storm near the city and music 3']);
    queries.data.set(own.data, 0);
    const same = async (label: string, extra: Record<string, unknown> = {}): Promise<void> => {
      for (const k of [1, 10, 37]) {
        for (const o of [{}, { rescoreMultiplier: 10 }, { rescore: false }]) {
          const want = await index.searchEmbeddings(queries, k, { exact: true, ...o, ...extra });
          const got = await index.searchEmbeddings(queries, k, { nprobe: nlist, ...o, ...extra });
          assert.deepEqual(plain(got), plain(want), `${label} k ${k} ${JSON.stringify(o)}`);
        }
      }
    };
    await same('fresh');
    await same('filter', { filter: { lang: 'de' } });
    await index.delete(Array.from({ length: 120 }, (_, i) => `p${i * 7}`));
    await index.upsert([
      { id: 'new-1', text: 'zebra quartz violin under seven purple lanterns' },
      { id: 'p3', text: 'a river near the engine and storm 5' },
    ]);
    await same('after deletes and upserts');
    await same('filter after writes', { filter: { lang: { in: ['en', 'fr'] } } });
    // A row written after the build is in no list: it is found with a single list probed.
    const q = await model.encode(['zebra quartz violin under seven purple lanterns']);
    const hit = (await index.searchEmbeddings(q, 1, { nprobe: 1 }))[0]?.[0];
    assert.equal(hit?.id, 'new-1');
    assert.equal(index.manifest.ivf?.rows, 900);
    await index.compact();
    assert.match(index.manifest.ivf?.file ?? '', /^ivf-g\d+\.lists$/);
    assert.equal(index.manifest.ivf?.rows, index.manifest.count);
    await same('after compact');
  } finally {
    await index.close();
  }
});

test('IVF with fewer probes: every hit has its exact int8 score and the hits are the exact top k of the probed lists (brute force)', async () => {
  const out = await build('probes', 16);
  const index = await openIndex(out, { model, searchThreads: 1 });
  try {
    const { m, shards } = shardsOf(out);
    const lists: IvfLists = readIvfLists(out, m.ivf as NonNullable<IndexManifest['ivf']>, m.dim, true);
    const half = centroidHalfNorms(lists);
    const queries = gaussian(30, m.dim, 9);
    let scanned = 0;
    for (const nprobe of [1, 3, 8]) {
      for (const k of [1, 5, 10]) {
        const got = await index.searchEmbeddings(queries, k, { nprobe });
        for (let qi = 0; qi < queries.rows; qi++) {
          const q = queries.row(qi);
          // Queries are normalised by the index (cosine model) before they reach the lists.
          let n2 = 0;
          for (const v of q) n2 += v * v;
          const qn = Float32Array.from(q, (v) => v / Math.sqrt(n2));
          const probed = new Set<number>();
          for (const l of probeLists(lists, qn, nprobe, half)) for (let p = lists.starts[l] as number; p < (lists.starts[l + 1] as number); p++) probed.add(lists.ids[p] as number);
          const others = Array.from({ length: m.count }, (_, r) => r).filter((r) => !probed.has(r));
          const o: ExactSearchOptions = { k, precision: 'binary', dim: m.dim, ranges: m.ranges as NonNullable<IndexManifest['ranges']>, skip: rowBitset(m.count, others), skipCount: others.length };
          const hits = (got[qi] ?? []).map((h) => ({ row: h.index, score: h.score }));
          // Probed lists holding fewer than the k × 4 candidates a query needs: it is scanned exactly, as the graph path falls back.
          const enough = probed.size >= 4 * k;
          const want = exactSearch(new Matrix(1, m.dim, qn), shards, enough ? o : { ...o, skip: undefined, skipCount: 0 })[0];
          assert.deepEqual(hits, want, `nprobe ${nprobe} k ${k} query ${qi}`);
          for (const h of hits) {
            if (enough) assert.ok(probed.has(h.row), `row ${h.row} is not in a probed list`);
            assert.equal(h.score, int8Score(qn, h.row, m, shards));
          }
          if (enough) scanned++;
        }
      }
    }
    assert.ok(scanned > 200, `${scanned} searches answered from the probed lists`);
    // Worker threads, each scanning a share of every list, merge to the one-thread candidates.
    const one = IvfSearcher.open(out, m.ivf as NonNullable<IndexManifest['ivf']>, m.dim, shards, true, 1);
    const two = IvfSearcher.open(out, m.ivf as NonNullable<IndexManifest['ivf']>, m.dim, shards, true, 2);
    try {
      assert.equal(two.threads, 2);
      for (let qi = 0; qi < queries.rows; qi++) {
        const bits = Uint8Array.from({ length: m.dim / 8 }, (_, b) => (qi * 37 + b * 11) & 0xff);
        const lists = one.probe(queries.row(qi), 1 + (qi % 5));
        const skip = qi % 2 === 0 ? rowBitset(m.count, [qi, qi * 3, qi * 5 + 1]) : undefined;
        assert.deepEqual((await two.scan(bits, lists, 25, skip)).sorted(), (await one.scan(bits, lists, 25, skip)).sorted());
      }
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
    await assert.rejects(index.searchEmbeddings(queries, 3, { nprobe: 17 }), (e: { code: string; field: string }) => e.code === 'INVALID_ARGUMENT' && e.field === 'nprobe');
    await assert.rejects(index.searchEmbeddings(queries, 3, { nprobe: 0 }), (e: { code: string; field: string }) => e.code === 'INVALID_ARGUMENT' && e.field === 'nprobe');
  } finally {
    await index.close();
  }
});

test('the default nprobe is ⌈4·√nlist⌉, at most nlist, and buildIvfIndex records it when none is given', async () => {
  assert.deepEqual([1, 2, 4, 16, 17, 71, 100, 141, 1024, 4096].map(defaultNprobe), [1, 2, 4, 16, 17, 34, 40, 48, 128, 256]);
  const out = join(tmp, 'default-nprobe');
  await buildIndex({ corpus: join(tmp, 'collection.tsv'), out, model, modelRef: BERT, precision: 'binary', shardSize: 128 });
  const entry = await buildIvfIndex(out, { nlist: 30, iterations: 1, threads: 1 });
  assert.equal(entry.nprobe, 22);
  assert.equal(readManifest(out).ivf?.nprobe, 22);
});

test('a missing, truncated or altered list file is INDEX_CORRUPT naming the file; IVF on a non-binary index is refused', async () => {
  const out = await build('corrupt', 8);
  const m = readManifest(out);
  const file = join(out, (m.ivf as NonNullable<IndexManifest['ivf']>).file);
  const good = readFileSync(file);
  const corrupt = (e: { code: string; file?: string }): boolean => e.code === 'INDEX_CORRUPT' && e.file === file;
  writeFileSync(file, good.subarray(0, good.length - 4));
  await assert.rejects(openIndex(out, { model }), corrupt);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
  writeFileSync(file, flipped);
  await assert.rejects(openIndex(out, { model }), corrupt);
  // With the sha256 check off, the structure check still refuses a row listed twice.
  const twice = Buffer.from(good);
  twice.writeUInt32LE(twice.readUInt32LE(twice.length - 8), twice.length - 4);
  writeFileSync(file, twice);
  await assert.rejects(openIndex(out, { model, verify: false }), corrupt);
  rmSync(file);
  await assert.rejects(openIndex(out, { model }), corrupt);
  writeFileSync(file, good);
  await (await openIndex(out, { model })).close();
  // What a killed build or compact leaves (a temporary file, lists the manifest never named) the next writer removes.
  writeFileSync(join(out, 'ivf.lists.tmp'), 'partial');
  writeFileSync(join(out, 'ivf-g7.lists'), 'uncommitted');
  await (await IndexWriter.open(out, { model })).close();
  assert.ok(!existsSync(join(out, 'ivf.lists.tmp')) && !existsSync(join(out, 'ivf-g7.lists')), 'stray list files removed');
  assert.ok(existsSync(file), 'the committed lists stay');
  const f32 = join(tmp, 'f32');
  await buildIndex({ corpus: join(tmp, 'collection.tsv'), out: f32, model, modelRef: BERT, shardSize: 256 });
  await assert.rejects(buildIvfIndex(f32, { nlist: 4 }), (e: { code: string; field: string }) => e.code === 'INVALID_ARGUMENT' && e.field === 'ivf');
  const bad = readManifest(out);
  (bad.ivf as NonNullable<IndexManifest['ivf']>).nprobe = 99;
  writeManifest(out, bad);
  await assert.rejects(openIndex(out, { model }), (e: { code: string; field?: string }) => e.code === 'INDEX_CORRUPT' && e.field === 'ivf.nprobe');
});

test('the kernel scan of list shares keeps the best kc by (distance, row), as a brute force over the probed rows', () => {
  const dim = 256;
  const bytes = dim / 8;
  const dir = join(tmp, 'kernel');
  mkdirSync(join(dir, 'shards'), { recursive: true });
  const rows = 3000;
  // Few distinct sign patterns: distances tie often.
  const base = gaussian(40, dim, 4);
  const vec = new Matrix(rows, dim);
  for (let r = 0; r < rows; r++) vec.data.set(base.row((r * 7919) % 40), r * dim);
  const shards: ShardVectors[] = [];
  for (let s = 0, n = 0; s < rows; s += 1000, n++) {
    const part = new Matrix(1000, dim, vec.data.subarray(s * dim, (s + 1000) * dim));
    shards.push(readShard(dir, writeShard(dir, n, 'binary', encodeShard(part, 'binary', rangesOf(vec))), 'binary', dim, true));
  }
  assert.ok(shards.every((s) => s.memory !== undefined), 'shards in kernel memory');
  let x = 11;
  const rnd = (): number => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
  const nlist = 9;
  const assigned = Array.from({ length: rows }, () => Math.floor(rnd() * nlist));
  const starts = new Uint32Array(nlist + 1);
  const ids: number[] = [];
  for (let l = 0; l < nlist; l++) {
    for (let r = 0; r < rows; r++) if (assigned[r] === l) ids.push(r);
    starts[l + 1] = ids.length;
  }
  const lists: IvfLists = { nlist, dim, rows, centroids: new Float32Array(nlist * dim), starts, ids: Uint32Array.from(ids) };
  const code = (row: number): Uint8Array => {
    const s = shards[Math.floor(row / 1000)] as ShardVectors;
    return (s.data as Uint8Array).subarray((row % 1000) * bytes, (row % 1000 + 1) * bytes);
  };
  for (const parts of [1, 3]) {
    const shares = ivfParts(lists, shards, parts);
    for (let t = 0; t < 20; t++) {
      const qbits = Uint8Array.from({ length: bytes }, () => Math.floor(rnd() * 256));
      const probe = Array.from({ length: nlist }, (_, l) => l).filter(() => rnd() < 0.4);
      const kc = 1 + Math.floor(rnd() * 60);
      const skip = t % 2 === 0 ? rowBitset(rows, Array.from({ length: rows }, (_, r) => r).filter(() => rnd() < 0.2)) : undefined;
      const top = new TopK(kc);
      for (const share of shares) scanLists(share, qbits, probe, top, skip);
      const brute = ids
        .filter((r) => probe.includes(assigned[r] as number) && !(skip !== undefined && ((skip[r >> 3] as number) & (1 << (r & 7))) !== 0))
        .map((r) => {
          let d = 0;
          const c = code(r);
          for (let b = 0; b < bytes; b++) for (let v = (c[b] as number) ^ (qbits[b] as number); v > 0; v >>= 1) d += v & 1;
          return { row: r, score: -d };
        })
        .sort((a, b) => b.score - a.score || a.row - b.row)
        .slice(0, kc);
      assert.deepEqual(top.sorted(), brute, `parts ${parts} trial ${t}`);
    }
  }
});
