import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Index as UsearchIndex } from 'usearch';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { isSemsearchError, type ErrorCode } from '../errors.js';
import { cosSim } from '../score/similarity.js';
import { buildAnnIndex } from './ann.js';
import { buildIndex } from './build-index.js';
import { DocStore } from './doc-store.js';
import type { Filter } from './filter.js';
import { readManifest } from './manifest.js';
import { openIndex } from './search-index.js';
import { type IndexHit } from './searcher.js';
import { assertSameHits, cleanBuild, passageMeta, passageText, writeCorpus, type Content } from './test-support/living.js';
import { IndexWriter, MAX_WRITE_BATCH, type WriteDocument } from './write-index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BERT = join(ROOT, 'src/model/fixtures/models/bert');
const QUERIES = ['london bridge history', 'coffee and bread recipe', 'vector search engine', 'winter snow mountain', 'passage 7 about music'];

let tmp: string;
let model: SentenceTransformer;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-living-'));
  model = await loadModelFromDir(BERT);
});
after(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** Build an index of passages 0 … n−1 with metadata (side file), shards of 64. */
async function baseIndex(name: string, n: number, precision: 'float32' | 'int8' | 'binary' = 'float32'): Promise<{ dir: string; content: Map<string, Content> }> {
  const content = new Map<string, Content>();
  for (let i = 0; i < n; i++) content.set(`p${i}`, { text: passageText(i), metadata: passageMeta(i) });
  const dir = await cleanBuild(tmp, name, content, model, BERT, precision);
  return { dir, content };
}

async function rejects(p: Promise<unknown>, code: ErrorCode, field?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isSemsearchError(e, code), `expected ${code}, got ${(e as Error).message}`);
    if (field !== undefined) assert.equal((e as { field?: string }).field, field);
    return true;
  });
}

describe('a living index: upsert, delete, compact', () => {
  test('writes are seen by an open reader without a restart, and search equals a clean rebuild after each', async () => {
    const { dir, content } = await baseIndex('live', 150);
    const reader = await openIndex(dir, { model });
    const before = await reader.search(QUERIES, 10);
    assertSameHits(before, await (await openIndex(dir, { model })).search(QUERIES, 10), 'two readers');

    // Five new documents and two replaced ones; the tail shard (150 = 2×64 + 22 rows) takes them.
    const docs: WriteDocument[] = [
      ...[0, 1, 2, 3, 4].map((i) => ({ id: `new${i}`, text: passageText(1000 + i), metadata: passageMeta(1000 + i) })),
      { id: 'p3', text: 'a rewritten passage about the london bridge history', metadata: { year: 2024, lang: 'en' } },
      { id: 'p140', text: passageText(2000) },
    ];
    const writer = await openIndex(dir, { model });
    const r1 = await writer.upsert(docs);
    assert.deepEqual({ added: r1.added, replaced: r1.replaced, live: r1.live, generation: r1.generation }, { added: 5, replaced: 2, live: 155, generation: 1 });
    for (const d of docs) content.set(d.id, { text: d.text, ...(d.metadata !== undefined ? { metadata: d.metadata } : {}) });
    let m = readManifest(dir);
    assert.equal(m.count, 157);
    assert.equal(m.deleted, 2);
    assert.equal(m.shards.length, 3);
    assert.equal(m.shards[2]?.rows, 29);
    assert.match(m.shards[2]?.file ?? '', /-g1\./);
    assert.equal(readdirSync(join(dir, 'shards')).length, 3, 'the old tail shard is gone');

    const clean1 = await openIndex(await cleanBuild(tmp, 'live-clean1', content, model, BERT), { model });
    assertSameHits(await reader.search(QUERIES, 10), await clean1.search(QUERIES, 10), 'after upsert');
    assert.equal(reader.count, 155);
    const top = (await reader.search('a rewritten passage about the london bridge history', 3))[0] as IndexHit[];
    assert.equal(top[0]?.id, 'p3');
    assert.deepEqual(top[0]?.metadata, { year: 2024, lang: 'en' });
    // The replaced version never appears, whatever the query.
    for (const hits of await reader.search([passageText(3), passageText(140)], 150)) {
      assert.equal(hits.filter((h) => h.id === 'p3').length, 1);
      assert.equal(hits.filter((h) => h.id === 'p140').length, 1);
      assert.ok(!hits.some((h) => h.text === passageText(3)));
    }
    for (const mode of ['keyword', 'hybrid'] as const) {
      const hits = await reader.search(['london bridge', 'rice coffee'], 20, { mode });
      assert.ok(!hits.flat().some((h) => (h.id === 'p3' && h.text === passageText(3)) || (h.id === 'p140' && h.text === passageText(140))), mode);
    }

    const r2 = await writer.delete(['p0', 'new2', 'p77']);
    assert.deepEqual({ deleted: r2.deleted, live: r2.live, generation: r2.generation }, { deleted: 3, live: 152, generation: 2 });
    for (const id of ['p0', 'new2', 'p77']) content.delete(id);
    const clean2 = await openIndex(await cleanBuild(tmp, 'live-clean2', content, model, BERT), { model });
    assertSameHits(await reader.search(QUERIES, 10), await clean2.search(QUERIES, 10), 'after delete');
    assert.ok(!(await reader.search(QUERIES, 152)).flat().some((h) => ['p0', 'new2', 'p77'].includes(h.id)), 'every live row, and no deleted one');
    assert.equal((await reader.search(QUERIES, 1000))[0]?.length, 152);

    const r3 = await writer.compact();
    assert.deepEqual({ dropped: r3.dropped, live: r3.live, generation: r3.generation }, { dropped: 5, live: 152, generation: 3 });
    m = readManifest(dir);
    assert.equal(m.count, 152);
    assert.equal(m.deleted, 0);
    assert.equal(m.docs, 'docs-g3.sqlite');
    assert.ok(!existsSync(join(dir, 'docs.sqlite')), 'the old store is gone');
    assert.deepEqual(readdirSync(join(dir, 'shards')).sort(), ['shard-00000-g3.f32', 'shard-00001-g3.f32', 'shard-00002-g3.f32']);
    assertSameHits(await reader.search(QUERIES, 10), await clean2.search(QUERIES, 10), 'after compact');
    // After compact, keyword statistics hold only live rows: BM25 equals the clean build's too.
    assertSameHits(await reader.search(QUERIES, 10, { mode: 'keyword' }), await clean2.search(QUERIES, 10, { mode: 'keyword' }), 'keyword after compact');
    for (const i of [reader, writer, clean1, clean2]) await i.close();
  });

  test('writes leave the HNSW graph as built: new rows are searched exactly beside it, deleted ones are skipped, and a walk finds what the scan finds', async () => {
    const { dir, content } = await baseIndex('ann', 120);
    await buildAnnIndex(dir, { threads: 1 });
    const index = await openIndex(dir, { model });
    await index.upsert([0, 1, 2].map((i) => ({ id: `n${i}`, text: passageText(500 + i) })));
    await index.delete(['p5', 'p6']);
    for (const i of [0, 1, 2]) content.set(`n${i}`, { text: passageText(500 + i) });
    content.delete('p5');
    content.delete('p6');
    const m = readManifest(dir);
    // Nothing was removed from the graph in place: it is the built file, rows 0–119, with p5 and p6 as tombstones.
    assert.equal(m.ann?.file, 'ann-i8.usearch');
    assert.deepEqual([m.ann?.rows, m.ann?.nodes], [120, 120]);
    const graph = new UsearchIndex({ dimensions: m.dim, metric: 'ip' as never, quantization: 'i8' as never, connectivity: 16, expansion_add: 128, expansion_search: 64, multi: false });
    graph.load(join(dir, m.ann?.file as string));
    assert.equal(graph.size(), 120);
    assert.deepEqual(graph.contains(BigUint64Array.from([5n, 6n, 120n, 122n])), [true, true, false, false]);
    // ef below the live count walks the graph (at the live count or more, the search scans).
    const viaGraph = await index.search(QUERIES, 10, { ef: 100 });
    assert.deepEqual(await index.search(QUERIES, 10, { ef: 121 }), await index.search(QUERIES, 10, { exact: true }));
    const exact = await index.search(QUERIES, 10, { exact: true });
    assertSameHits(viaGraph, exact, 'graph vs scan');
    const clean = await openIndex(await cleanBuild(tmp, 'ann-clean', content, model, BERT), { model });
    assertSameHits(exact, await clean.search(QUERIES, 10), 'scan vs clean build');
    const r = await index.compact();
    assert.equal(r.live, 121);
    assert.match(readManifest(dir).ann?.file ?? '', /-g3\.usearch/);
    assertSameHits(await index.search(QUERIES, 10, { ef: 512 }), await clean.search(QUERIES, 10), 'graph after compact');
    await index.close();
    await clean.close();
  });

  test('int8 and binary indexes take writes: the tail shard and its int8 rescoring rows grow together', async () => {
    for (const precision of ['int8', 'binary'] as const) {
      const { dir } = await baseIndex(`q-${precision}`, 70, precision);
      const index = await openIndex(dir, { model });
      await index.upsert([{ id: 'x', text: 'a passage about the ocean island harbour' }]);
      const m = readManifest(dir);
      assert.equal(m.shards[1]?.rows, 7);
      if (precision === 'binary') assert.match(m.shards[1]?.rescoreFile ?? '', /-g1\.rescore\.i8$/);
      const again = await openIndex(dir, { model });
      const hits = (await again.search('a passage about the ocean island harbour', 5, { rescoreMultiplier: 20 }))[0] as IndexHit[];
      assert.equal(hits[0]?.id, 'x', precision);
      await index.close();
      await again.close();
    }
  });

  test('a write SQLite holds but the manifest has not committed is invisible to readers, and the next writer undoes it', async () => {
    const { dir } = await baseIndex('uncommitted', 40);
    const reader = await openIndex(dir, { model });
    const before = await reader.search(QUERIES, 40, { mode: 'hybrid' });
    // What a writer killed between its SQLite commit and its manifest commit leaves.
    const store = new DocStore(join(dir, 'docs.sqlite'), { wal: false });
    store.applyWrite(1, [0, 1, 2], 40, [{ id: 'ghost', text: 'london bridge history coffee' }], {});
    store.close();
    assertSameHits(await reader.search(QUERIES, 40, { mode: 'hybrid' }), before, 'reader after an uncommitted write');
    const fresh = await openIndex(dir, { model });
    assertSameHits(await fresh.search(QUERIES, 40, { mode: 'hybrid' }), before, 'a new reader');
    const w = await IndexWriter.open(dir, { model });
    await w.close();
    const check = new DocStore(join(dir, 'docs.sqlite'), { readonly: true });
    assert.equal(check.count(), 40);
    assert.equal(check.deletedRows({ count: 40, generation: 99 }).length, 0);
    check.close();
    await reader.close();
    await fresh.close();
  });
});

describe('metadata and filters', () => {
  const FILTERS: { name: string; filter: Filter; allow: (m: Record<string, unknown>, id: string) => boolean }[] = [
    { name: 'eq string', filter: { lang: 'de' }, allow: (m) => m.lang === 'de' },
    { name: 'in', filter: { lang: { in: ['en', 'fr'] } }, allow: (m) => m.lang === 'en' || m.lang === 'fr' },
    { name: 'range', filter: { year: { gte: 2000, lt: 2005 } }, allow: (m) => (m.year as number) >= 2000 && (m.year as number) < 2005 },
    { name: 'and/or/not', filter: { and: [{ or: [{ lang: 'en' }, { draft: true }] }, { not: { year: { gt: 2010 } } }] }, allow: (m) => (m.lang === 'en' || m.draft === true) && !((m.year as number) > 2010) },
    { name: 'boolean', filter: { draft: false }, allow: (m) => m.draft === false },
    { name: 'not a missing field', filter: { not: { year: 1995 } }, allow: (m) => m.year !== 1995 },
    { name: 'id', filter: { id: { in: ['p1', 'p2', 'p30', 'nope'] } }, allow: (_, id) => ['p1', 'p2', 'p30'].includes(id) },
    { name: 'nothing', filter: { year: { gt: 3000 } }, allow: () => false },
  ];

  test('filtered top-k is exact: the hits of scoring only the allowed rows, selective or broad, scan or graph', async () => {
    const { dir, content } = await baseIndex('filter', 200);
    // Some documents without metadata, and a deleted one that a filter would allow.
    const index = await openIndex(dir, { model });
    await index.upsert([{ id: 'bare1', text: passageText(900) }, { id: 'bare2', text: passageText(901) }]);
    await index.delete(['p4']);
    content.set('bare1', { text: passageText(900) });
    content.set('bare2', { text: passageText(901) });
    content.delete('p4');
    const q = await model.encodeQuery(QUERIES);
    for (const withGraph of [false, true]) {
      if (withGraph) await buildAnnIndex(dir, { threads: 1 });
      const searcher = await openIndex(dir, { model });
      assert.equal(searcher.hasAnn, withGraph);
      for (const f of FILTERS) {
        const allowed = [...content].filter(([id, c]) => f.allow(c.metadata ?? {}, id));
        const texts = allowed.map(([, c]) => c.text);
        const want = texts.length === 0 ? QUERIES.map(() => []) : cosSim(q, await model.encode(texts)).toArray().map((row) =>
          row
            .map((score, j) => ({ id: allowed[j]?.[0] as string, score }))
            .sort((a, b) => b.score - a.score)
            .slice(0, 10),
        );
        const got = await searcher.search(QUERIES, 10, { filter: f.filter, ...(withGraph ? { ef: 16 } : {}) });
        got.forEach((hits, qi) => {
          const w = want[qi] ?? [];
          assert.equal(hits.length, w.length, `${f.name}: hits of query ${qi}`);
          hits.forEach((h, j) => {
            assert.ok(Math.abs(h.score - (w[j]?.score as number)) < 1e-5, `${f.name} ${withGraph ? 'graph' : 'scan'}: query ${qi} hit ${j}`);
            assert.ok(f.allow(h.metadata ?? {}, h.id), `${f.name}: ${h.id} is not allowed`);
          });
        });
        const kw = await searcher.search(QUERIES, 10, { mode: 'keyword', filter: f.filter });
        assert.ok(kw.flat().every((h) => f.allow(h.metadata ?? {}, h.id)), `${f.name}: keyword hits obey the filter`);
        const hy = await searcher.search(QUERIES, 10, { mode: 'hybrid', filter: f.filter });
        assert.ok(hy.flat().every((h) => f.allow(h.metadata ?? {}, h.id)), `${f.name}: hybrid hits obey the filter`);
      }
      await searcher.close();
    }
    await index.close();
  });

  test('BEIR titles and extra fields become typed metadata; filters on unknown fields or with wrong types are FILTER_INVALID', async () => {
    const beir = join(tmp, 'meta.jsonl');
    writeFileSync(
      beir,
      [
        '{"_id":"a","title":"London","text":"London is big.","year":2001,"metadata":{"url":"http://a","tags":["x"]}}',
        '{"_id":"b","title":"","text":"Paris is the capital of France.","year":1999,"open":true}',
      ].join('\n'),
    );
    const out = join(tmp, 'meta-index');
    const r = await buildIndex({ corpus: beir, out, model, modelRef: BERT });
    assert.deepEqual(r.manifest.fields, { title: 'string', year: 'number', 'metadata.url': 'string', open: 'boolean' });
    const index = await openIndex(out, { model });
    const hits = (await index.search('capital', 2, { filter: { year: { lt: 2000 } } }))[0] as IndexHit[];
    assert.deepEqual(hits.map((h) => [h.id, h.metadata]), [['b', { year: 1999, open: true }]]);
    assert.deepEqual((await index.search('x', 2, { filter: { 'metadata.url': 'http://a' } }))[0]?.map((h) => h.id), ['a']);
    await rejects(index.search('x', 2, { filter: { colour: 'red' } }), 'FILTER_INVALID', 'filter.colour');
    await rejects(index.search('x', 2, { filter: { year: 'old' } }), 'FILTER_INVALID', 'filter.year.eq');
    await rejects(index.search('x', 2, { filter: { title: { gt: 3 } } }), 'FILTER_INVALID', 'filter.title.gt');
    await rejects(index.search('x', 2, { filter: { year: { near: 3 } } as never }), 'FILTER_INVALID', 'filter.year.near');
    await rejects(index.search('x', 2, { filter: { or: [] } }), 'FILTER_INVALID', 'filter.or');
    await rejects(index.search('x', 2, { mode: 'keyword', filter: { and: [{ year: 1 }, { nope: 1 }] } }), 'FILTER_INVALID', 'filter.and[1].nope');
    await index.close();
  });
});

describe('bad writes are coded errors, and nothing is half-applied', () => {
  test('duplicate ids, unknown ids, wrong metadata types, oversized batches, a second writer', async () => {
    const { dir } = await baseIndex('bad', 30);
    const index = await openIndex(dir, { model });
    const gen = (): number => readManifest(dir).generation ?? 0;
    await rejects(index.upsert([{ id: 'x', text: 'one' }, { id: 'x', text: 'two' }]), 'DUPLICATE_ENTRY', 'documents[1].id');
    await rejects(index.upsert([{ id: 'y', text: 'fine' }, { id: 'z', text: '  ' }]), 'EMPTY_PASSAGE', 'documents[1].text');
    await rejects(index.upsert([{ id: 'y', text: 'fine', metadata: { year: 'recent' } }]), 'METADATA_INVALID', 'year');
    await rejects(index.upsert([{ id: 'y', text: 'fine', metadata: { tags: ['a'] as never } }]), 'METADATA_INVALID', 'tags');
    await rejects(index.upsert([{ id: 'y', text: 'fine', metadata: { text: 'reserved' } }]), 'METADATA_INVALID', 'text');
    await rejects(index.upsert([{ id: 'y', text: 'a', metadata: { n: 1 } }, { id: 'w', text: 'b', metadata: { n: 'one' } }]), 'METADATA_INVALID', 'n');
    await rejects(index.upsert(Array.from({ length: MAX_WRITE_BATCH + 1 }, (_, i) => ({ id: `b${i}`, text: 'x' }))), 'LIMIT_EXCEEDED', 'documents');
    await rejects(index.upsert([]), 'EMPTY_INPUT', 'documents');
    await rejects(index.delete(['p1', 'nope', 'p2']), 'UNKNOWN_DOCUMENT', 'ids');
    await rejects(index.delete(['p1', 'p1']), 'DUPLICATE_ENTRY', 'ids[1]');
    assert.equal(gen(), 0, 'no failed write committed anything');
    assert.equal(index.count, 30);
    assert.equal((await index.search('passage', 30))[0]?.length, 30);
    const held = await IndexWriter.open(dir, { model });
    await rejects(index.upsert([{ id: 'y', text: 'fine' }]), 'INDEX_LOCKED');
    await rejects(IndexWriter.open(dir, { model, waitMs: 100 }), 'INDEX_LOCKED');
    const waiting = index.delete('p1', { waitMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    await held.close();
    assert.equal((await waiting).deleted, 1, 'a writer that waits goes on once the lock is free');
    const store = readdirSync(dir).filter((f) => f.includes('.tmp'));
    assert.deepEqual(store, []);
    await index.close();
  });

  test('an MS MARCO side file: metadata joins passages by id; a bad side file names its line', async () => {
    const content = new Map<string, Content>([
      ['1', { text: 'alpha passage', metadata: { year: 2001 } }],
      ['2', { text: 'beta passage' }],
    ]);
    const { corpus } = writeCorpus(tmp, 'side', content);
    const bad = join(tmp, 'bad.meta.jsonl');
    writeFileSync(bad, '{"id":"1","year":2001}\n{"id":"2","year":[1]}\n');
    await rejects(buildIndex({ corpus, out: join(tmp, 'side-bad'), model, modelRef: BERT, metadata: bad }), 'METADATA_INVALID', 'year');
    writeFileSync(bad, '{"id":"1","year":2001}\n{"id":"2","year":"x"}\n');
    await assert.rejects(buildIndex({ corpus, out: join(tmp, 'side-bad2'), model, modelRef: BERT, metadata: bad }), (e: unknown) => {
      assert.ok(isSemsearchError(e, 'METADATA_INVALID'));
      assert.equal((e as { line?: number }).line, 2);
      return true;
    });
  });
});
