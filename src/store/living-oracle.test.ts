import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { seededRandom } from '../tensor/random.js';
import { buildAnnIndex } from './ann.js';
import { openIndex } from './search-index.js';
import { cleanBuild, passageText, type Content } from './test-support/living.js';
import { describeFailure, runSeed, vectorModel, type OracleConfig } from './test-support/oracle.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
let tmp: string;
let model: SentenceTransformer;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-oracle-'));
  model = await loadModelFromDir(BERT);
});
after(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the living index against a brute-force oracle', () => {
  // The short run; npm run test:oracle runs many more seeds and longer sequences.
  test('random upserts, deletes, compacts, reopens and searches: exact, graph, filters, keyword and hybrid equal the oracle', async () => {
    const configs: [number, OracleConfig][] = [
      [101, { initial: 60, ops: 80, graph: 'i8', vectors: 'synthetic', noise: 0.25, policy: { tailRows: 10, tombstoneShare: 0.2 } }],
      [102, { initial: 150, ops: 80, graph: 'i8', vectors: 'synthetic', noise: 0.05, policy: {} }],
      [103, { initial: 40, ops: 80, graph: 'f16', vectors: 'synthetic', noise: 1, policy: { tailRows: 5, tombstoneShare: 0.1 } }],
      [104, { initial: 90, ops: 60, graph: null, vectors: 'synthetic', noise: 0.25 }],
      [105, { initial: 50, ops: 40, graph: 'i8', vectors: 'model', noise: 0, policy: { tailRows: 8, tombstoneShare: 0.3 } }],
    ];
    let ops = 0;
    for (const [seed, config] of configs) {
      const r = await runSeed({ model, modelRef: BERT, dir: tmp }, seed, config, 20_000);
      assert.equal(r.failure, undefined, r.failure !== undefined ? describeFailure(r.failure) : '');
      ops += r.ops;
    }
    assert.equal(ops, 340);
  });
});

describe('the HNSW graph after writes (issue 28)', () => {
  test('after dozens of upserts and deletes on the fixture model, every live document is found by its own text through the graph', async () => {
    // The sequence that left a live row unreachable when writes removed graph nodes in place (seed 5 of the report).
    const rnd = seededRandom(5);
    const content = new Map<string, Content>();
    for (let i = 0; i < 300; i++) content.set(`p${i}`, { text: passageText(i) });
    const dir = await cleanBuild(tmp, 'reach', content, model, BERT);
    await buildAnnIndex(dir, { threads: 1 });
    const index = await openIndex(dir, { model });
    let next = 1000;
    for (let w = 0; w < 120; w++) {
      if (rnd() < 0.6) {
        const docs: { id: string; text: string }[] = [];
        for (let j = 0; j < 1 + Math.floor(rnd() * 5); j++) {
          const ids = [...content.keys()];
          const id = rnd() < 0.5 && ids.length > 0 ? (ids[Math.floor(rnd() * ids.length)] as string) : `n${next++}`;
          if (docs.some((d) => d.id === id)) continue;
          docs.push({ id, text: passageText(next++) });
        }
        await index.upsert(docs);
        for (const d of docs) content.set(d.id, { text: d.text });
      } else {
        const ids = [...content.keys()];
        const del = new Set<string>();
        for (let j = 0; j < 1 + Math.floor(rnd() * 5); j++) del.add(ids[Math.floor(rnd() * ids.length)] as string);
        await index.delete([...del]);
        for (const id of del) content.delete(id);
      }
    }
    const ids = [...content.keys()];
    const texts = ids.map((id) => (content.get(id) as Content).text);
    // ef just below the live count: the graph is walked (at the live count or more the search scans).
    const ef = index.count - 1;
    const viaGraph = await index.search(texts, 10, { ef });
    const exact = await index.search(texts, 10, { exact: true });
    const lost = ids.filter((id, i) => !(viaGraph[i] ?? []).some((h) => h.id === id));
    assert.deepEqual(lost, [], `live documents the graph does not return for their own text at ef ${ef}`);
    viaGraph.forEach((hits, i) => assert.deepEqual(hits.map((h) => h.id), (exact[i] ?? []).map((h) => h.id), `query ${i}`));
    // At ef ≥ the live count, the search equals the exact one, always.
    const full = await index.search(texts, 10, { ef: index.count });
    full.forEach((hits, i) => assert.deepEqual(hits.map((h) => [h.id, h.score]), (exact[i] ?? []).map((h) => [h.id, h.score]), `query ${i} at full ef`));
    await index.close();
  });

  test('recall at the default ef after writes stays within 0.01 of a fresh build on the same rows', async () => {
    const synthetic = vectorModel(model, 0.25);
    const rnd = seededRandom(28);
    const text = (): string => `doc ${Math.floor(rnd() * 1e9)} ${passageText(Math.floor(rnd() * 1e6))}`;
    const content = new Map<string, Content>();
    for (let i = 0; i < 1500; i++) content.set(`d${i}`, { text: text() });
    const dir = await cleanBuild(tmp, 'recall', content, synthetic, BERT);
    await buildAnnIndex(dir, { threads: 1 });
    const index = await openIndex(dir, { model: synthetic });
    // Writes that leave the graph with a tail and tombstones below the rebuild threshold.
    let next = 1500;
    for (let w = 0; w < 30; w++) {
      const ids = [...content.keys()];
      if (w % 2 === 0) {
        const docs = Array.from({ length: 12 }, (_, j) => (j < 4 ? (ids[Math.floor(rnd() * ids.length)] as string) : `d${next++}`))
          .filter((id, j, a) => a.indexOf(id) === j)
          .map((id) => ({ id, text: text() }));
        await index.upsert(docs);
        for (const d of docs) content.set(d.id, { text: d.text });
      } else {
        const del = [...new Set(Array.from({ length: 6 }, () => ids[Math.floor(rnd() * ids.length)] as string))];
        await index.delete(del);
        for (const id of del) content.delete(id);
      }
    }
    const m = index.manifest;
    assert.ok((m.ann?.rows ?? 0) < m.count && (m.deleted ?? 0) > 0, 'the graph has a tail and tombstones');
    const fresh = await cleanBuild(tmp, 'recall-fresh', content, synthetic, BERT);
    await buildAnnIndex(fresh, { threads: 1 });
    const clean = await openIndex(fresh, { model: synthetic });
    const queries = Array.from({ length: 200 }, () => text());
    const recall = async (s: typeof index): Promise<number> => {
      const got = await s.search(queries, 10);
      const want = await s.search(queries, 10, { exact: true });
      let hit = 0;
      got.forEach((hits, i) => {
        const truth = new Set((want[i] ?? []).map((h) => h.id));
        hit += hits.filter((h) => truth.has(h.id)).length;
      });
      return hit / (10 * queries.length);
    };
    const living = await recall(index);
    const built = await recall(clean);
    console.log(`recall@10 at the default ef: after writes ${living}, fresh build ${built}`);
    assert.ok(living >= built - 0.01, `recall@10 after writes ${living}, fresh build ${built}`);
    await index.close();
    await clean.close();
  });
});
