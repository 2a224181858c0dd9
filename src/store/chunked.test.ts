import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import { normalizeRows } from '../encoder/normalize.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import type { Matrix } from '../tensor/matrix.js';
import { seededRandom } from '../tensor/random.js';
import { buildAnnIndex } from './ann.js';
import { buildIndex } from './build-index.js';
import { documentRows } from './chunk-rows.js';
import { DocStore } from './doc-store.js';
import { groupRanking, type DocumentHit } from './group.js';
import { readManifest, type ChunkingInfo } from './manifest.js';
import { openIndex } from './search-index.js';
import type { ChunkScore, IndexHit } from './searcher.js';
import { passageText } from './test-support/living.js';
import { IndexWriter } from './write-index.js';

const DISTILBERT = fileURLToPath(new URL('../model/fixtures/models/distilbert', import.meta.url));
let tmp: string;
let model: SentenceTransformer;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-chunked-'));
  model = await loadModelFromDir(DISTILBERT);
});
after(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** Brute-force grouping of a whole ranking of windows: each document's score from all its windows' scores. */
function bruteGroup(scored: readonly { id: string; row: number; score: number }[], k: number, how: ChunkScore, sum: number): DocumentHit[] {
  const ranked = [...scored].sort((a, b) => b.score - a.score || a.row - b.row);
  const docs = new Map<string, { hit: DocumentHit; scores: number[]; first: number }>();
  ranked.forEach((h, pos) => {
    let d = docs.get(h.id);
    if (d === undefined) docs.set(h.id, (d = { hit: { id: h.id, row: h.row, chunkScore: h.score, score: 0 }, scores: [], first: pos }));
    d.scores.push(h.score);
  });
  const all = [...docs.values()].map((d) => ({ ...d, score: how === 'max' ? (d.scores[0] as number) : d.scores.slice(0, sum).reduce((a, b) => a + b, 0) }));
  all.sort((a, b) => b.score - a.score || a.first - b.first);
  return all.slice(0, k).map((d) => ({ ...d.hit, score: d.score }));
}

test('groupRanking read deeper until settled equals brute-force grouping of the whole ranking (max and sum, seeded random scores, negative ones too)', () => {
  const random = seededRandom(7);
  for (let trial = 0; trial < 400; trial++) {
    const docs = 1 + Math.floor(random() * 40);
    const rows: { id: string; row: number; score: number }[] = [];
    const windows = new Map<string, number>();
    for (let d = 0; d < docs; d++) {
      const n = 1 + Math.floor(random() * 6);
      windows.set(`d${d}`, n);
      for (let c = 0; c < n; c++) rows.push({ id: `d${d}`, row: rows.length, score: random() * 2 - (trial % 3 === 0 ? 1.5 : 0.5) });
    }
    const ranked = [...rows].sort((a, b) => b.score - a.score || a.row - b.row);
    const idOf = (row: number): string => (rows[row] as { id: string }).id;
    const k = 1 + Math.floor(random() * 8);
    for (const how of ['max', 'sum'] as const) {
      const sum = 1 + Math.floor(random() * 4);
      let got: DocumentHit[] | undefined;
      for (let depth = Math.min(rows.length, 1 + Math.floor(random() * 3)); got === undefined; depth = Math.min(rows.length, depth * 2)) {
        got = groupRanking(ranked.slice(0, depth), k, depth >= rows.length, { how, sum }, idOf, (id) => windows.get(id) as number);
        if (got === undefined) assert.ok(depth < rows.length, 'the whole ranking always settles');
      }
      assert.deepEqual(got, bruteGroup(rows, k, how, sum), `trial ${trial} ${how} sum ${sum} k ${k}`);
    }
  }
});

/** Long and short documents with titles (BEIR jsonl), from the living-index vocabulary. */
function longDocs(random: () => number, n: number, from = 0): { id: string; title: string; text: string; year: number }[] {
  return Array.from({ length: n }, (_, i) => {
    const paras = 1 + Math.floor(random() * 5);
    const body = Array.from({ length: paras }, (_, p) => Array.from({ length: 1 + Math.floor(random() * 4) }, (_, s) => passageText((from + i) * 97 + p * 13 + s) + '.').join(' ')).join('\n\n');
    return { id: `doc${from + i}`, title: `Title ${from + i}`, text: body, year: 2000 + ((from + i) % 5) };
  });
}

function writeBeir(file: string, docs: readonly { id: string; title: string; text: string; year: number }[]): void {
  writeFileSync(file, docs.map((d) => JSON.stringify({ _id: d.id, title: d.title, text: d.text, year: d.year })).join('\n') + '\n');
}

/** Every live window of the index, encoded again from the chunker's own inputs: the brute force the index must match. */
async function bruteScores(dir: string, queries: readonly string[]): Promise<{ id: string; row: number; score: number; year: number; text: string }[][]> {
  const m = readManifest(dir);
  const store = new DocStore(join(dir, m.docs ?? 'docs.sqlite'), { readonly: true });
  const rows = [...store.liveDocs({ count: m.count, generation: m.generation ?? 0 }, m.fields ?? {})];
  store.close();
  // The windows' inputs, from the chunker run on each whole document again (independent of what the build stored).
  const inputs: string[] = [];
  const byDoc = new Map<string, typeof rows>();
  for (const r of rows) byDoc.set(r.id, [...(byDoc.get(r.id) ?? []), r]);
  const order: typeof rows = [];
  for (const [, windows] of byDoc) {
    const title = windows[0]?.metadata?.['title'];
    // Rebuild the document's text from its windows' spans.
    const len = Math.max(...windows.map((w) => w.chunk?.end ?? 0));
    const chars = new Array<string>(len).fill(' ');
    for (const w of windows) for (let i = 0; i < w.text.length; i++) chars[(w.chunk?.start ?? 0) + i] = w.text[i] as string;
    const text = chars.join('');
    const again = documentRows(model, { id: windows[0]?.id as string, text, ...(typeof title === 'string' ? { metadata: { title } } : {}) }, m.chunking as ChunkingInfo);
    assert.deepEqual(again.map((r) => r.chunk), windows.map((w) => w.chunk), `the windows of ${windows[0]?.id} are the chunker's`);
    again.forEach((r) => inputs.push(r.input));
    order.push(...windows);
  }
  const emb = normalizeRows((await model.encode(inputs)) as Matrix);
  const q = normalizeRows(await model.encode(queries));
  return queries.map((_, qi) =>
    order.map((r, i) => {
      let s = 0;
      for (let d = 0; d < q.dim; d++) s += (q.data[qi * q.dim + d] as number) * (emb.data[i * q.dim + d] as number);
      return { id: r.id, row: r.index, score: s, year: r.metadata?.['year'] as number, text: r.text };
    }),
  );
}

function assertGrouped(got: readonly IndexHit[], want: readonly DocumentHit[], what: string): void {
  assert.deepEqual(
    got.map((h) => h.id),
    want.map((h) => h.id),
    what,
  );
  got.forEach((h, i) => {
    const w = want[i] as DocumentHit;
    assert.ok(Math.abs(h.score - w.score) < 1e-5, `${what}: ${h.id} scores ${h.score}, brute force ${w.score}`);
    assert.equal(h.index, w.row, `${what}: ${h.id}'s winning window`);
    assert.ok(h.chunk !== undefined && Math.abs(h.chunk.score - w.chunkScore) < 1e-5);
  });
}

const QUERIES = ['london bridge history', 'coffee and bread recipe', 'vector search engine', 'winter snow mountain', 'passage 7 about music', 'title 3'];

test('a chunked index returns one hit per document, its best window with offsets, equal to brute-force grouping of brute-force window scores; deletes and replacements remove every window', async () => {
  const random = seededRandom(31);
  const docs = longDocs(random, 40);
  const corpus = join(tmp, 'long.jsonl');
  writeBeir(corpus, docs);
  const dir = join(tmp, 'chunked');
  const r = await buildIndex({ corpus, out: dir, model, modelRef: DISTILBERT, chunk: true, shardSize: 16 });
  const m = r.manifest;
  assert.deepEqual(m.chunking, { maxTokens: 64, overlap: 7 });
  assert.equal(m.documents, 40);
  assert.ok(m.count > 80, `${m.count} windows`);
  assert.ok(r.long.passages > 20 && r.long.windows > r.long.passages, JSON.stringify(r.long));
  const text = new Map(docs.map((d) => [d.id, `${d.title} ${d.text}`]));
  const index = await openIndex(dir, { model });
  try {
    assert.equal(index.count, 40);
    const check = async (what: string): Promise<void> => {
      const brute = await bruteScores(dir, QUERIES);
      for (const k of [1, 3, 10, 50]) {
        for (const how of ['max', 'sum'] as const) {
          const got = await index.search(QUERIES, k, { chunkScore: how, sumChunks: 2 });
          got.forEach((hits, qi) => assertGrouped(hits, bruteGroup(brute[qi] ?? [], k, how, 2), `${what} k=${k} ${how} query ${qi}`));
        }
        const filtered = await index.search(QUERIES, k, { filter: { year: { gte: 2003 } } });
        filtered.forEach((hits, qi) => assertGrouped(hits, bruteGroup((brute[qi] ?? []).filter((b) => b.year >= 2003), k, 'max', 1), `${what} k=${k} filtered query ${qi}`));
      }
      // The hit's text is its window, at its offsets in the document.
      for (const h of (await index.search(QUERIES, 10)).flat()) {
        const t = text.get(h.id);
        if (t !== undefined) assert.equal(t.slice(h.chunk?.start, h.chunk?.end), h.text);
      }
      // Keyword and hybrid search group too: one hit per document, as the whole ranking of windows grouped.
      for (const mode of ['keyword', 'hybrid'] as const) {
        const all = await index.search(QUERIES, index.count * 20, { mode, fusionDepth: 10_000 });
        const grouped = await index.search(QUERIES, 5, { mode, fusionDepth: 10_000 });
        grouped.forEach((hits, qi) => {
          assert.equal(new Set(hits.map((h) => h.id)).size, hits.length, `${mode}: one hit per document`);
          assert.deepEqual(hits.map((h) => h.id), (all[qi] ?? []).slice(0, 5).map((h) => h.id), `${mode} query ${qi}`);
        });
      }
    };
    await check('built');
    // Replace a long document by a short one, add new long ones, delete others: every window of each goes.
    const w = await IndexWriter.open(dir, { model });
    const before = readManifest(dir);
    const longOne = docs.find((d) => documentRows(model, { id: d.id, text: `${d.title} ${d.text}`, metadata: { title: d.title } }, before.chunking).length > 2) as (typeof docs)[number];
    const windows = documentRows(model, { id: longOne.id, text: `${longOne.title} ${longOne.text}`, metadata: { title: longOne.title } }, before.chunking).length;
    const added = longDocs(random, 3, 100).map((d) => ({ id: d.id, text: `${d.title} ${d.text}`, metadata: { title: d.title, year: d.year } }));
    const up = await w.upsert([{ id: longOne.id, text: 'a short replacement about london bridge' }, ...added]);
    text.set(longOne.id, 'a short replacement about london bridge');
    for (const d of added) text.set(d.id, d.text);
    assert.deepEqual({ added: up.added, replaced: up.replaced, live: up.live }, { added: 3, replaced: 1, live: 43 });
    assert.equal(readManifest(dir).deleted, (before.deleted ?? 0) + windows, 'every window of the replaced document is a tombstone');
    const gone = docs.filter((d) => d.id !== longOne.id).slice(0, 5).map((d) => d.id);
    const del = await w.delete(gone);
    assert.deepEqual({ deleted: del.deleted, live: del.live }, { deleted: 5, live: 38 });
    await w.close();
    await index.refresh();
    assert.equal(index.count, 38);
    const after = await index.search(QUERIES, 50);
    for (const hits of after) for (const h of hits) assert.ok(!gone.includes(h.id), `${h.id} was deleted`);
    const replacedHit = after.flat().find((h) => h.id === longOne.id);
    assert.equal(replacedHit?.text, 'a short replacement about london bridge');
    await check('after writes');
    const c = await index.compact();
    assert.equal(c.live, 38);
    await check('after compact');
    // With an HNSW graph (built single-threaded: the same graph every run), grouping reads the graph's window ranking.
    await buildAnnIndex(dir, { threads: 1 });
    await index.refresh();
    assert.ok(index.hasAnn);
    await check('with a graph');
  } finally {
    await index.close();
  }
});

test('a chunked build resumes only as chunked, and an unchunked build reports the texts the model cuts', async () => {
  const random = seededRandom(5);
  const corpus = join(tmp, 'resume.jsonl');
  writeBeir(corpus, longDocs(random, 12));
  const dir = join(tmp, 'resume');
  await buildIndex({ corpus, out: dir, model, modelRef: DISTILBERT, chunk: { maxTokens: 40, overlap: 4 }, limit: 5, shardSize: 4 });
  await assert.rejects(buildIndex({ corpus, out: dir, model, modelRef: DISTILBERT }), { code: 'INDEX_MISMATCH' });
  const done = await buildIndex({ corpus, out: dir, model, modelRef: DISTILBERT, chunk: { maxTokens: 40, overlap: 4 }, shardSize: 4 });
  assert.equal(done.manifest.documents, 12);
  assert.equal(done.manifest.complete, true);
  const plain = await buildIndex({ corpus, out: join(tmp, 'plain'), model, modelRef: DISTILBERT });
  assert.equal(plain.manifest.chunking, undefined);
  assert.equal(plain.long.of, 12);
  assert.ok(plain.long.passages > 0 && plain.long.passages < 12, JSON.stringify(plain.long));
  await assert.rejects(buildIndex({ corpus, out: join(tmp, 'bad'), model, modelRef: DISTILBERT, chunk: { maxTokens: 65 } }), { code: 'INVALID_ARGUMENT' });
});
