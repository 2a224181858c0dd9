// Against a real 2-node OpenSearch cluster: `npm run test:cluster` builds and starts it (scripts/opensearch.mjs),
// sets SEMSEARCH_OPENSEARCH_URL and runs this file; `.ci/run` does so wherever Java and Maven are present.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killNode, nodesOf, startNode, waitReady } from '../../scripts/opensearch.mjs';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import type { Filter } from '../store/filter.js';
import { openIndex, type SearchIndex } from '../store/search-index.js';
import { type IndexHit } from '../store/searcher.js';
import { cleanBuild, passageMeta, passageText, type Content } from '../store/test-support/living.js';
import { IndexWriter } from '../store/write-index.js';
import { OpenSearchConnection } from './connection.js';
import { rejectsWith, remoteIds } from './test-support/cluster.js';
import { readMeta } from './mapping.js';
import { OpenSearchIndex } from './opensearch-index.js';
import { pushIndex, type PushProgress } from './push.js';

const URL_ = process.env['SEMSEARCH_OPENSEARCH_URL'];
const CLUSTER_DIR = process.env['SEMSEARCH_OPENSEARCH_DIR'];
const PORT = Number(process.env['SEMSEARCH_OPENSEARCH_PORT'] ?? 9250);
// Only npm run test:cluster runs this file, and it sets both; anything else is a misuse worth a loud stop.
assert.ok(URL_ !== undefined && CLUSTER_DIR !== undefined, 'run these tests with npm run test:cluster, which starts the cluster they need');
const url = URL_;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');
const MODELS = join(ROOT, 'src/model/fixtures/models');
const QUERIES = ['london bridge history', 'coffee and bread recipe', 'vector search engine', 'winter snow mountain', 'passage 7 about music'];

function contentOf(n: number, from = 0): Map<string, Content> {
  const c = new Map<string, Content>();
  for (let i = from; i < from + n; i++) c.set(`p${i}`, { text: passageText(i), metadata: passageMeta(i) });
  return c;
}

/** Same ids and the very same scores, query by query. */
function assertSameHits(got: IndexHit[][], want: IndexHit[][], what: string): void {
  assert.equal(got.length, want.length, what);
  got.forEach((g, qi) => {
    assert.deepEqual(
      g.map((h) => [h.id, h.score, h.text, h.metadata ?? null]),
      (want[qi] ?? []).map((h) => [h.id, h.score, h.text, h.metadata ?? null]),
      `${what}: query ${qi}`,
    );
  });
}

function liveIds(content: ReadonlyMap<string, Content>): string[] {
  return [...content.keys()].sort();
}

describe('OpenSearch backend on a 2-node cluster', () => {
  let tmp: string;
  let bert: SentenceTransformer;
  let distil: SentenceTransformer;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'semsearch-os-'));
    bert = await loadModelFromDir(join(MODELS, 'bert'));
    distil = await loadModelFromDir(join(MODELS, 'distilbert'));
  });
  after(async () => {
    await bert.dispose();
    await distil.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const [name, kind, space] of [
    ['bert', 'cos', 'cosinesimil'],
    ['distilbert', 'dot', 'innerproduct'],
  ] as const) {
    test(`push a ${kind} model's index: mapping from the model, every document, top-10 equal to the local index`, async () => {
      const model = name === 'bert' ? bert : distil;
      const content = contentOf(300);
      const dir = await cleanBuild(tmp, `eq-${name}`, content, model, join(MODELS, name));
      const indexName = `eq-${name}`;
      const progress: PushProgress[] = [];
      const r = await pushIndex(dir, { url, indexName, batchSize: 64, onProgress: (p) => progress.push(p) });
      assert.equal(r.mode, 'created');
      assert.equal(r.sent, 300);
      assert.equal(r.remote, 300);
      assert.ok(progress.some((p) => p.phase === 'rows' && p.done === 300 && p.total === 300), 'progress reaches the total');
      const conn = new OpenSearchConnection({ url });
      const mapping = await conn.request<Record<string, { mappings: { properties: Record<string, { dimension?: number; method?: { space_type: string; engine: string } }> } }>>('GET', `/${indexName}/_mapping`);
      const vector = Object.values(mapping.body)[0]?.mappings.properties['vector'];
      assert.equal(vector?.dimension, model.dimension);
      assert.equal(vector?.method?.space_type, space);
      assert.equal(vector?.method?.engine, 'lucene');
      const settings = await conn.request<Record<string, { settings: { index: { refresh_interval?: string; number_of_shards: string } } }>>('GET', `/${indexName}/_settings`);
      const s = Object.values(settings.body)[0]?.settings.index;
      assert.equal(s?.refresh_interval, undefined, 'refresh is back to its default after the load');
      assert.equal(s?.number_of_shards, '2', 'one shard per data node');
      await conn.close();
      assert.deepEqual(await remoteIds(url, indexName), liveIds(content));

      const local = await openIndex(dir, { model });
      const remote = await OpenSearchIndex.open({ url, indexName, model });
      try {
        assert.equal(remote.count, 300);
        const want = await local.search(QUERIES, 10);
        // Rescored: the local index's scores, bit for bit, in its order.
        assertSameHits(await remote.search(QUERIES, 10, { rescore: true }), want, 'rescored');
        // The cluster's own scores, read back on the model's scale: the same ids, scores within float32 rounding.
        const plain = await remote.search(QUERIES, 10);
        plain.forEach((hits, qi) => {
          assert.deepEqual(
            hits.map((h) => h.id),
            (want[qi] ?? []).map((h) => h.id),
            `query ${qi}`,
          );
          hits.forEach((h, j) => assert.ok(Math.abs(h.score - (want[qi]?.[j]?.score ?? NaN)) < 1e-5, `query ${qi} hit ${j}: ${h.score} vs ${want[qi]?.[j]?.score}`));
        });
        // Filters mean the same on both sides, missing fields and not included.
        const filters: Filter[] = [{ lang: 'de' }, { year: { gte: 2005, lt: 2012 } }, { or: [{ lang: { in: ['fr', 'es'] } }, { draft: true }] }, { not: { lang: 'en' } }, { id: { in: ['p1', 'p2', 'p3'] } }];
        for (const filter of filters) {
          assertSameHits(await remote.search(QUERIES, 5, { filter, rescore: true }), await local.search(QUERIES, 5, { filter }), `filter ${JSON.stringify(filter)}`);
        }
        await rejectsWith(remote.search(QUERIES, 5, { filter: { colour: 'red' } }), 'FILTER_INVALID', /colour/);
        // Keyword search is the cluster's BM25: every hit holds a query word.
        const kw = await remote.search(['castle'], 5, { mode: 'keyword' });
        assert.ok((kw[0] ?? []).length > 0 && (kw[0] ?? []).every((h) => h.text.includes('castle')));
        const hybrid = await remote.search(QUERIES, 10, { mode: 'hybrid' });
        assert.ok(hybrid.every((h) => h.length === 10 && new Set(h.map((x) => x.id)).size === 10));
      } finally {
        await local.close();
        await remote.close();
      }
    });
  }

  test('writes through the backend: upsert is searchable at once, delete removes, an unknown id deletes nothing', async () => {
    const dir = await cleanBuild(tmp, 'writes', contentOf(50), bert, join(MODELS, 'bert'));
    await pushIndex(dir, { url, indexName: 'writes' });
    const remote = await OpenSearchIndex.open({ url, indexName: 'writes', model: bert });
    try {
      const r = await remote.upsert([
        { id: 'new-1', text: 'a passage about the famous london bridge and its long history', metadata: { year: 2024, lang: 'en', colour: 'red' } },
        { id: 'p3', text: 'replaced text about winter snow on the mountain', metadata: { lang: 'de' } },
      ]);
      assert.deepEqual([r.added, r.replaced, r.live], [1, 1, 51]);
      const [hits] = await remote.search(['london bridge history'], 3, { filter: { colour: 'red' } });
      assert.equal(hits?.[0]?.id, 'new-1', 'a new metadata field is mapped and filterable');
      await rejectsWith(remote.delete(['p4', 'nope']), 'UNKNOWN_DOCUMENT', /nope/);
      assert.equal(remote.count, 51, 'nothing was deleted');
      const d = await remote.delete(['p4', 'new-1']);
      assert.deepEqual([d.deleted, d.live], [2, 49]);
      const after = await remote.search(['london bridge history'], 50);
      assert.ok(!(after[0] ?? []).some((h) => h.id === 'p4' || h.id === 'new-1'));
    } finally {
      await remote.close();
    }
  });

  test('push again syncs local writes: incremental after upserts and deletes, full (strays deleted) after compact', async () => {
    const content = contentOf(120);
    const dir = await cleanBuild(tmp, 'sync', content, bert, join(MODELS, 'bert'));
    assert.equal((await pushIndex(dir, { url, indexName: 'sync' })).mode, 'created');
    assert.equal((await pushIndex(dir, { url, indexName: 'sync' })).mode, 'unchanged');
    const w = await IndexWriter.open(dir, { model: bert });
    await w.upsert([...contentOf(10, 500)].map(([id, c]) => ({ id, text: c.text, ...(c.metadata !== undefined ? { metadata: c.metadata } : {}) })));
    await w.upsert([{ id: 'p5', text: 'p5 rewritten about a quiet museum garden', metadata: { year: 2030, lang: 'en', draft: false, topic: 'art' } }]);
    await w.delete(['p6', 'p7', 'p501']);
    await w.close();
    for (const [id, c] of contentOf(10, 500)) content.set(id, c);
    for (const id of ['p6', 'p7', 'p501']) content.delete(id);
    const inc = await pushIndex(dir, { url, indexName: 'sync' });
    assert.equal(inc.mode, 'incremental');
    assert.equal(inc.sent, 10, 'only the rows written since: 9 new documents and p5 (p501 was deleted before the push)');
    assert.equal(inc.deleted, 2);
    assert.deepEqual(await remoteIds(url, 'sync'), liveIds(content));
    const local = await openIndex(dir, { model: bert });
    const remote = await OpenSearchIndex.open({ url, indexName: 'sync', model: bert });
    try {
      assertSameHits(await remote.search(QUERIES, 10, { rescore: true }), await local.search(QUERIES, 10), 'after the incremental push');
      assertSameHits(await remote.search(QUERIES, 5, { rescore: true, filter: { topic: 'art' } }), await local.search(QUERIES, 5, { filter: { topic: 'art' } }), 'a field added locally');
      // A document written on the cluster alone is a stray once the local index is compacted and resent.
      await remote.upsert([{ id: 'stray', text: 'only on the cluster' }]);
    } finally {
      await local.close();
      await remote.close();
    }
    const w2 = await IndexWriter.open(dir, { model: bert });
    await w2.compact();
    await w2.close();
    const full = await pushIndex(dir, { url, indexName: 'sync' });
    assert.equal(full.mode, 'full');
    assert.equal(full.deleted, 1, 'the stray');
    assert.deepEqual(await remoteIds(url, 'sync'), liveIds(content));
  });

  test('bad input: a model mismatch, an int8 index and a bad index name are refused with codes, the cluster untouched', async () => {
    const dir = await cleanBuild(tmp, 'mismatch', contentOf(20), distil, join(MODELS, 'distilbert'));
    await pushIndex(dir, { url, indexName: 'mismatch' });
    const other = await cleanBuild(tmp, 'mismatch-b', contentOf(20), bert, join(MODELS, 'bert'));
    await rejectsWith(pushIndex(other, { url, indexName: 'mismatch' }), 'INDEX_MISMATCH', /another --index-name/);
    await rejectsWith(OpenSearchIndex.open({ url, indexName: 'mismatch', model: bert }), 'INDEX_MISMATCH');
    await rejectsWith(OpenSearchIndex.open({ url, indexName: 'absent', model: bert }), 'INDEX_NOT_FOUND', /semsearch push/);
    await rejectsWith(pushIndex(other, { url, indexName: 'Bad Name' }), 'INVALID_ARGUMENT', /index name/);
    const i8 = await cleanBuild(tmp, 'int8', contentOf(20), bert, join(MODELS, 'bert'), 'int8');
    await rejectsWith(pushIndex(i8, { url, indexName: 'int8' }), 'INVALID_ARGUMENT', /float32 or float16/);
    await rejectsWith(pushIndex(dir, { url: 'http://127.0.0.1:1', indexName: 'x', retryForMs: 0 }), 'BACKEND_UNAVAILABLE');
    assert.deepEqual((await remoteIds(url, 'mismatch')).length, 20);
  });

  test('kill -9 of a push (the CLI) mid-load: the next push resumes, nothing lost or duplicated', async () => {
    const content = contentOf(3000);
    const dir = await cleanBuild(tmp, 'crash', content, bert, join(MODELS, 'bert'));
    const args = ['push', dir, '--url', url, '--index-name', 'crash', '--batch-size', '50', '--checkpoint-seconds', '0'];
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // Killed once a checkpoint records part of the load (some batches acknowledged, the rest not yet sent).
    const conn = new OpenSearchConnection({ url });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const meta = await readMeta(conn, 'crash').catch(() => undefined);
      if ((meta?.push?.row ?? 0) >= 200) break;
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`the push did not get going: ${err}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    await conn.close();
    assert.ok((await remoteIds(url, 'crash')).length < 3000, 'killed before the end');
    const r = await pushIndex(dir, { url, indexName: 'crash' });
    assert.equal(r.mode, 'resumed');
    assert.ok(r.sent <= 2800, `resumed from its checkpoint (sent ${r.sent})`);
    assert.deepEqual(await remoteIds(url, 'crash'), liveIds(content));
    assert.equal(r.remote, 3000);
  });

  test('a node killed (SIGKILL) and restarted during a push: the push finishes, every document there once', async () => {
    const content = contentOf(3000);
    const dir = await cleanBuild(tmp, 'node-loss', content, bert, join(MODELS, 'bert'));
    const node2 = nodesOf(CLUSTER_DIR).find((n) => n.name === 'node2');
    assert.ok(node2?.alive === true, 'node2 runs');
    let killed = false;
    let restarted: Promise<unknown> | undefined;
    const retries: string[] = [];
    let pushing: ReturnType<typeof pushIndex> | undefined;
    try {
      pushing = pushIndex(dir, {
      url,
      indexName: 'node-loss',
      // No replicas: node2's shard has no copy elsewhere, so its writes must wait for the node to return.
      replicas: 0,
      batchSize: 100,
      retryForMs: 180_000,
      onRetry: (_n, why) => retries.push(why),
      onProgress: (p) => {
        if (!killed && p.phase === 'rows' && p.done >= 600) {
          killed = true;
          killNode('node2', CLUSTER_DIR);
          // Back after longer than a bulk waits for a missing shard (10 s): the push meets the loss and retries.
          restarted = new Promise((res) => setTimeout(res, 12_000)).then(() => {
            startNode(1, { nodes: 2, dir: CLUSTER_DIR, httpPort: PORT });
            return waitReady(url, 2, { dir: CLUSTER_DIR });
          });
        }
      },
    });
      await pushing;
    } finally {
      // The cluster is whole again for the tests after this one, whatever happened.
      await pushing?.catch(() => undefined);
      await restarted;
    }
    const r = await (pushing as ReturnType<typeof pushIndex>);
    assert.ok(killed, 'node2 was killed during the load');
    assert.ok(retries.length > 0, 'the push met the lost node and retried');
    assert.equal(r.mode, 'created');
    assert.deepEqual(await remoteIds(url, 'node-loss'), liveIds(content));
    const remote = await OpenSearchIndex.open({ url, indexName: 'node-loss', model: bert });
    const local = await openIndex(dir, { model: bert });
    try {
      assertSameHits(await remote.search(QUERIES, 10, { rescore: true }), await local.search(QUERIES, 10), 'after the node came back');
    } finally {
      await remote.close();
      await (local as SearchIndex).close();
    }
  });
});
