// A chunked index (index --chunk) pushed to a real 2-node OpenSearch cluster: `npm run test:cluster` starts it and
// runs this file beside opensearch.cluster.test.ts. The oracle is the local chunked index (itself checked against
// brute-force grouping in src/store/chunked.test.ts) and, for BM25, grouping the cluster's whole window ranking.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { seededRandom } from '../tensor/random.js';
import { buildIndex } from '../store/build-index.js';
import { documentRows } from '../store/chunk-rows.js';
import { DocStore } from '../store/doc-store.js';
import { readManifest, DEFAULT_DOCS_FILE } from '../store/manifest.js';
import { openIndex } from '../store/search-index.js';
import type { Filter } from '../store/filter.js';
import type { ChunkScore, IndexHit } from '../store/searcher.js';
import { passageMeta, passageText, writeCorpus, type Content } from '../store/test-support/living.js';
import { IndexWriter } from '../store/write-index.js';
import { OpenSearchConnection } from './connection.js';
import { rejectsWith, remoteIds } from './test-support/cluster.js';
import { readMeta, windowId } from './mapping.js';
import { OpenSearchIndex } from './opensearch-index.js';
import { pushIndex } from './push.js';

const URL_ = process.env['SEMSEARCH_OPENSEARCH_URL'];
assert.ok(URL_ !== undefined, 'run these tests with npm run test:cluster, which starts the cluster they need');
const url = URL_;
const DISTILBERT = fileURLToPath(new URL('../model/fixtures/models/distilbert', import.meta.url));
const QUERIES = ['london bridge history', 'coffee and bread recipe', 'vector search engine', 'winter snow mountain', 'passage 7 about music'];

/** Documents of 1 to 16 passages each: the short ones fit one 64-token window, the long ones take several. */
function longContent(n: number, seed: number, from = 0): Map<string, Content> {
  const random = seededRandom(seed);
  const c = new Map<string, Content>();
  for (let i = from; i < from + n; i++) {
    const parts = 1 + Math.floor(random() * 16);
    const text = Array.from({ length: parts }, (_, p) => passageText(i * 10 + p)).join('. ');
    c.set(`d${i}`, { text, metadata: passageMeta(i) });
  }
  return c;
}

async function chunkedBuild(tmp: string, name: string, content: ReadonlyMap<string, Content>, model: SentenceTransformer): Promise<string> {
  const { corpus, metadata } = writeCorpus(tmp, name, content);
  const out = join(tmp, `${name}-index`);
  await buildIndex({ corpus, out, model, modelRef: DISTILBERT, shardSize: 64, metadata, chunk: true });
  return out;
}

/** The local index's live windows as the `_id`s the cluster must hold. */
function localWindowIds(dir: string): string[] {
  const m = readManifest(dir);
  const docs = new DocStore(join(dir, m.docs ?? DEFAULT_DOCS_FILE), { reader: true });
  try {
    return [...docs.liveDocs({ count: m.count, generation: m.generation ?? 0 }, {})].map((d) => windowId(d.id, d.chunk?.number ?? -1)).sort();
  } finally {
    docs.close();
  }
}

/** Same documents in the same order, the same scores bit for bit, the same winning windows. */
function assertSameDocs(got: IndexHit[][], want: IndexHit[][], what: string): void {
  assert.equal(got.length, want.length, what);
  got.forEach((g, qi) => {
    assert.deepEqual(
      g.map((h) => [h.id, h.score, h.text, h.chunk ?? null, h.metadata ?? null]),
      (want[qi] ?? []).map((h) => [h.id, h.score, h.text, h.chunk ?? null, h.metadata ?? null]),
      `${what}: query ${qi}`,
    );
  });
}

/** Brute-force grouping of a whole ranking of windows (best first): max, or the sum of each document's best `sum`. */
function bruteGroup(ranked: readonly { id: string; window: number; score: number }[], k: number, how: ChunkScore, sum: number): { id: string; window: number; score: number }[] {
  const docs = new Map<string, { id: string; window: number; scores: number[]; first: number }>();
  ranked.forEach((r, pos) => {
    let d = docs.get(r.id);
    if (d === undefined) docs.set(r.id, (d = { id: r.id, window: r.window, scores: [], first: pos }));
    d.scores.push(r.score);
  });
  const scored = [...docs.values()].map((d) => ({ id: d.id, window: d.window, first: d.first, score: how === 'max' ? (d.scores[0] as number) : d.scores.slice(0, sum).reduce((a, b) => a + b, 0) }));
  scored.sort((a, b) => b.score - a.score || a.first - b.first);
  return scored.slice(0, k).map(({ id, window, score }) => ({ id, window, score }));
}

describe('a chunked index on a 2-node OpenSearch cluster', () => {
  let tmp: string;
  let model: SentenceTransformer;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'semsearch-os-chunked-'));
    model = await loadModelFromDir(DISTILBERT);
    // A cluster left running by an earlier run of this file starts these tests afresh.
    const conn = new OpenSearchConnection({ url });
    await conn.request('DELETE', '/chunked-docs,chunked-writes,chunked-sync,chunked-resume', undefined, { ignore: [404], query: { ignore_unavailable: 'true' } });
    await conn.close();
  });
  after(async () => {
    await model.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('push sends every window under its own _id; searches return one hit per document, equal to the local chunked index', async () => {
    const content = longContent(60, 7);
    const dir = await chunkedBuild(tmp, 'docs', content, model);
    const m = readManifest(dir);
    assert.ok(m.count > 120, `${m.count} windows of 60 documents`);
    const r = await pushIndex(dir, { url, indexName: 'chunked-docs', batchSize: 50 });
    assert.equal(r.mode, 'created');
    assert.equal(r.sent, m.count, 'every window sent');
    assert.equal(r.remote, 60, 'the cluster counts documents');
    assert.equal(r.local, 60);
    assert.deepEqual(await remoteIds(url, 'chunked-docs'), localWindowIds(dir));
    const conn = new OpenSearchConnection({ url });
    const pushed = (await readMeta(conn, 'chunked-docs'))?.chunking;
    assert.deepEqual([pushed?.maxTokens, pushed?.overlap], [m.chunking?.maxTokens, m.chunking?.overlap]);
    await conn.close();

    const local = await openIndex(dir, { model });
    const remote = await OpenSearchIndex.open({ url, indexName: 'chunked-docs', model, oversample: 100 });
    try {
      assert.equal(remote.chunked, true);
      assert.equal(remote.count, 60);
      const info = await remote.info();
      assert.deepEqual(info.chunking, { ...m.chunking, windows: m.count });
      // Candidates reach every window, so the rescored ranking is the exact one and the grouping must match.
      for (const k of [1, 5, 10, 60]) {
        for (const how of ['max', 'sum'] as const) {
          const want = await local.search(QUERIES, k, { chunkScore: how, sumChunks: 2 });
          assertSameDocs(await remote.search(QUERIES, k, { rescore: true, chunkScore: how, sumChunks: 2 }), want, `k=${k} ${how}`);
        }
      }
      for (const filter of [{ lang: 'de' }, { year: { gte: 2005 } }, { not: { draft: true } }] as Filter[]) {
        assertSameDocs(await remote.search(QUERIES, 5, { rescore: true, filter }), await local.search(QUERIES, 5, { filter }), `filter ${JSON.stringify(filter)}`);
      }
      // Each hit's window is a span of its document.
      for (const hits of await remote.search(QUERIES, 10, { rescore: true })) {
        for (const h of hits) assert.equal(content.get(h.id)?.text.slice(h.chunk?.start, h.chunk?.end), h.text, `window of ${h.id}`);
      }
      // The cluster's own scores (no rescoring): one hit per document, each the best of its windows found.
      for (const hits of await remote.search(QUERIES, 10)) assert.equal(new Set(hits.map((h) => h.id)).size, hits.length);

      // BM25 over windows, grouped: equal to grouping the cluster's whole window ranking by brute force.
      const raw = new OpenSearchConnection({ url });
      try {
        for (const q of QUERIES) {
          const all = await raw.request<{ hits: { hits: { _score: number; _source: { id: string; chunk: { number: number } } }[] } }>('POST', '/chunked-docs/_search', {
            size: 10000,
            _source: ['id', 'chunk'],
            query: { bool: { must: [{ match: { text: q } }] } },
          });
          const ranked = all.body.hits.hits.map((h) => ({ id: h._source.id, window: h._source.chunk.number, score: h._score }));
          assert.ok(ranked.length > 0, q);
          for (const how of ['max', 'sum'] as const) {
            for (const k of [3, 10]) {
              const [got] = await remote.search([q], k, { mode: 'keyword', chunkScore: how, sumChunks: 2 });
              const want = bruteGroup(ranked, k, how, 2);
              assert.deepEqual(
                (got ?? []).map((h) => h.id),
                want.map((w) => w.id),
                `keyword ${how} k=${k} "${q}"`,
              );
              (got ?? []).forEach((h, j) => {
                assert.ok(Math.abs(h.score - (want[j]?.score ?? NaN)) < 1e-4, `keyword ${how} score of ${h.id}: ${h.score} vs ${want[j]?.score}`);
                assert.equal(h.chunk?.number, want[j]?.window, `keyword ${how} best window of ${h.id}`);
              });
            }
          }
        }
      } finally {
        await raw.close();
      }
      const hybrid = await remote.search(QUERIES, 10, { mode: 'hybrid', rescore: true });
      assert.ok(hybrid.every((h) => h.length === 10 && new Set(h.map((x) => x.id)).size === 10), 'hybrid: ten distinct documents');
    } finally {
      await local.close();
      await remote.close();
    }
  });

  test('writes through the backend work on documents: upsert replaces every window, delete removes them all, an unknown id deletes nothing', async () => {
    const content = longContent(20, 11);
    const dir = await chunkedBuild(tmp, 'writes', content, model);
    await pushIndex(dir, { url, indexName: 'chunked-writes' });
    const chunking = readManifest(dir).chunking;
    const remote = await OpenSearchIndex.open({ url, indexName: 'chunked-writes', model, oversample: 100 });
    try {
      const longId = [...content.keys()].find((id) => documentRows(model, { id, text: content.get(id)?.text as string }, chunking).length >= 3) as string;
      assert.ok(longId !== undefined, 'a document of three windows or more');
      const newText = longContent(1, 99, 500).get('d500')?.text as string;
      const newWindows = documentRows(model, { id: 'n1', text: newText }, chunking).length;
      const r = await remote.upsert([
        { id: longId, text: 'now a short text about a quiet museum garden', metadata: { lang: 'de' } },
        { id: 'n1', text: newText, metadata: { colour: 'red' } },
      ]);
      assert.deepEqual([r.added, r.replaced, r.live], [1, 1, 21]);
      const ids = await remoteIds(url, 'chunked-writes');
      assert.deepEqual(ids.filter((x) => x.startsWith(`${longId}#`)), [windowId(longId, 0)], 'the replaced document keeps one window');
      assert.equal(ids.filter((x) => x.startsWith('n1#')).length, newWindows);
      const short = 'now a short text about a quiet museum garden';
      const [hits] = await remote.search(['quiet museum garden'], 3, { rescore: true, filter: { id: longId } });
      assert.deepEqual(
        (hits ?? []).map((h) => [h.id, h.text, h.chunk]),
        [[longId, short, { number: 0, start: 0, end: short.length, score: hits?.[0]?.score }]],
        'the replaced document is its one new window',
      );
      const [red] = await remote.search(['anything'], 5, { filter: { colour: 'red' } });
      assert.deepEqual((red ?? []).map((h) => h.id), ['n1'], 'a new field is mapped and filterable, one hit for the document');
      await rejectsWith(remote.delete(['n1', 'nope']), 'UNKNOWN_DOCUMENT', /nope/);
      assert.equal(remote.count, 21, 'nothing was deleted');
      const d = await remote.delete(['n1', 'd3']);
      assert.deepEqual([d.deleted, d.live], [2, 19]);
      const left = await remoteIds(url, 'chunked-writes');
      assert.ok(!left.some((x) => x.startsWith('n1#') || x.startsWith('d3#')), 'every window of a deleted document is gone');
    } finally {
      await remote.close();
    }
  });

  test('a chunked push that dies mid-load resumes from its checkpoint: every window there once', async () => {
    const content = longContent(150, 41);
    const dir = await chunkedBuild(tmp, 'resume', content, model);
    const windows = readManifest(dir).count;
    // The load stops (as a crash would) once some batches are acknowledged and checkpointed.
    await assert.rejects(
      pushIndex(dir, {
        url,
        indexName: 'chunked-resume',
        batchSize: 40,
        concurrency: 1,
        checkpointSeconds: 0,
        onProgress: (p) => {
          if (p.phase === 'rows' && p.done >= 120) throw new Error('stopped mid-load');
        },
      }),
      /stopped mid-load/,
    );
    const part = await remoteIds(url, 'chunked-resume');
    assert.ok(part.length >= 120 && part.length < windows, `${part.length} of ${windows} windows before the resume`);
    const conn = new OpenSearchConnection({ url });
    const row = (await readMeta(conn, 'chunked-resume'))?.push?.row ?? 0;
    await conn.close();
    assert.ok(row >= 80, `a checkpoint at row ${row}`);
    const r = await pushIndex(dir, { url, indexName: 'chunked-resume' });
    assert.equal(r.mode, 'resumed');
    assert.equal(r.sent, windows - row, 'resumed from its checkpoint: the windows past it, every one live');
    assert.deepEqual(await remoteIds(url, 'chunked-resume'), localWindowIds(dir));
    assert.equal(r.remote, 150);
  });

  test('push again syncs local chunked writes: incremental (changed windows only, shrunk documents lose their tail), full after compact', async () => {
    const content = longContent(40, 23);
    const dir = await chunkedBuild(tmp, 'sync', content, model);
    assert.equal((await pushIndex(dir, { url, indexName: 'chunked-sync' })).mode, 'created');
    const chunking = readManifest(dir).chunking;
    const long = [...content.keys()].filter((id) => documentRows(model, { id, text: content.get(id)?.text as string }, chunking).length >= 3);
    assert.ok(long.length >= 3);
    const w = await IndexWriter.open(dir, { model });
    // A long document shrinks to one window, another grows, one is deleted, and new ones arrive.
    await w.upsert([
      { id: long[0] as string, text: 'short now: a river bridge' },
      { id: long[1] as string, text: `${content.get(long[1] as string)?.text as string}. ${passageText(9001)}. ${passageText(9002)}` },
      ...[...longContent(5, 5, 700)].map(([id, c]) => ({ id, text: c.text })),
    ]);
    await w.delete([long[2] as string]);
    await w.close();
    const inc = await pushIndex(dir, { url, indexName: 'chunked-sync' });
    assert.equal(inc.mode, 'incremental');
    assert.ok(inc.deleted > 0, 'the shrunk and the deleted documents lost windows');
    assert.deepEqual(await remoteIds(url, 'chunked-sync'), localWindowIds(dir));
    assert.equal(inc.remote, 44);
    const local = await openIndex(dir, { model });
    const remote = await OpenSearchIndex.open({ url, indexName: 'chunked-sync', model, oversample: 100 });
    try {
      assertSameDocs(await remote.search(QUERIES, 10, { rescore: true }), await local.search(QUERIES, 10), 'after the incremental push');
      // Written on the cluster alone: a stray once the local index is compacted and resent in full.
      await remote.upsert([{ id: 'stray', text: 'only on the cluster' }]);
    } finally {
      await local.close();
      await remote.close();
    }
    const w2 = await IndexWriter.open(dir, { model });
    await w2.compact();
    await w2.close();
    const full = await pushIndex(dir, { url, indexName: 'chunked-sync' });
    assert.equal(full.mode, 'full');
    assert.equal(full.deleted, 1, 'the stray window');
    assert.deepEqual(await remoteIds(url, 'chunked-sync'), localWindowIds(dir));

    // A chunked index never goes into an unchunked one, nor one cut into other windows.
    const plain = join(tmp, 'plain-index');
    const { corpus } = writeCorpus(tmp, 'plain', longContent(5, 1));
    await buildIndex({ corpus, out: plain, model, modelRef: DISTILBERT });
    await rejectsWith(pushIndex(plain, { url, indexName: 'chunked-sync' }), 'INDEX_MISMATCH', /whole passages \(no --chunk\)/);
    const other = join(tmp, 'other-index');
    await buildIndex({ corpus, out: other, model, modelRef: DISTILBERT, chunk: { maxTokens: 32, overlap: 4 } });
    await rejectsWith(pushIndex(other, { url, indexName: 'chunked-sync' }), 'INDEX_MISMATCH', /windows of 32 tokens/);
  });
});
