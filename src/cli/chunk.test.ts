import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DocStore } from '../store/doc-store.js';
import { readManifest } from '../store/manifest.js';
import { passageText } from '../store/test-support/living.js';
import { runCaptured } from './test-support/run-cli.js';

const DISTILBERT = fileURLToPath(new URL('../model/fixtures/models/distilbert', import.meta.url));

interface JsonHit {
  id: string;
  score: number;
  text: string;
  chunk?: { number: number; start: number; end: number; score: number };
}

/** A document of `n` sentences; distilbert's window is 64 tokens, so most are cut. */
function doc(i: number, n: number): string {
  return Array.from({ length: n }, (_, s) => `${passageText(i * 31 + s)}.`).join(' ');
}

test('semsearch index --chunk, search (one hit per document, its best window), add and delete (every window), and the truncation report without --chunk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-cli-chunk-'));
  try {
    const texts = new Map<string, string>();
    for (let i = 0; i < 12; i++) texts.set(`d${i}`, (i === 3 ? 'The lighthouse keeper counted whales at dawn. ' : '') + doc(i, i % 3 === 0 ? 1 : 12));
    // The needle sits at the end of a long document: unchunked, the model never reads it.
    texts.set('d5', `${doc(5, 12)} The lighthouse keeper counted whales at dawn.`);
    const corpus = join(dir, 'corpus.tsv');
    writeFileSync(corpus, [...texts].map(([id, t]) => `${id}\t${t}`).join('\n') + '\n');

    const plain = await runCaptured(['index', corpus, '-m', DISTILBERT, '-o', join(dir, 'plain')]);
    assert.equal(plain.code, 0, plain.err);
    const long = [...texts.values()].filter((t) => t.length > 300).length;
    assert.match(plain.err, new RegExp(`semsearch index: ${long} of 12 texts exceed 64 tokens: their ends are not searched; --chunk indexes them whole`));

    const out = join(dir, 'ix');
    const built = await runCaptured(['index', corpus, '-m', DISTILBERT, '-o', out, '--chunk', '--shard-size', '8']);
    assert.equal(built.code, 0, built.err);
    const m = readManifest(out);
    assert.match(built.out, new RegExp(`complete: 12 documents as ${m.count} windows`));
    assert.match(built.out, new RegExp(`${long} of 12 texts exceed 64 tokens: cut into \\d+ windows \\(overlap 7 tokens\\)`));
    assert.doesNotMatch(built.err, /not searched/);

    const search = await runCaptured(['search', out, 'lighthouse keeper whales', '-k', '12', '--json']);
    assert.equal(search.code, 0, search.err);
    const hits = (JSON.parse(search.out) as { hits: JsonHit[] }).hits;
    assert.equal(hits.length, 12, 'one hit per document');
    assert.equal(new Set(hits.map((h) => h.id)).size, 12);
    for (const h of hits) {
      assert.ok(h.chunk !== undefined);
      assert.equal((texts.get(h.id) as string).slice(h.chunk.start, h.chunk.end), h.text, `${h.id}: the window's text at its offsets`);
    }
    // The fixture model's weights are random, so which window wins a vector search says little; BM25 says which holds the words.
    const keyword = await runCaptured(['search', out, 'lighthouse whales', '--mode', 'keyword', '--json']);
    const kw = (JSON.parse(keyword.out) as { hits: JsonHit[] }).hits;
    assert.deepEqual(kw.map((h) => h.id).sort(), ['d3', 'd5']);
    const d5 = kw.find((h) => h.id === 'd5') as JsonHit;
    assert.match(d5.text, /lighthouse keeper counted whales at dawn\.$/, 'the best window of d5 is its last, which holds the sentence');
    assert.ok((d5.chunk?.number ?? 0) > 0);
    const human = await runCaptured(['search', out, 'lighthouse keeper whales', '-k', '2']);
    assert.match(human.out, / {2}d\d+ {2}\[window \d+, chars \d+-\d+\] {2}/);

    // add replaces a long document by a long one and adds one; delete removes every window of a document.
    const more = join(dir, 'more.tsv');
    writeFileSync(more, `d1\t${doc(100, 10)}\nn1\t${doc(101, 9)}\n`);
    const add = await runCaptured(['add', out, more, '--chunk']);
    assert.equal(add.code, 0, add.err);
    assert.match(add.out, /committed generation 1 \(add\): 1 added, 1 replaced; 13 documents/);
    const del = await runCaptured(['delete', out, 'd5', 'd1']);
    assert.equal(del.code, 0, del.err);
    assert.match(del.out, /2 deleted; 11 documents/);
    const after = readManifest(out);
    const store = new DocStore(join(out, after.docs ?? 'docs.sqlite'), { readonly: true });
    try {
      const live = [...store.liveDocs({ count: after.count, generation: after.generation ?? 0 }, {})];
      assert.deepEqual(live.filter((r) => r.id === 'd5' || r.id === 'd1'), [], 'no window of a deleted document is live');
      assert.equal(after.count - (after.deleted ?? 0), live.length);
      assert.equal(new Set(live.map((r) => r.id)).size, 11);
    } finally {
      store.close();
    }
    const again = await runCaptured(['search', out, 'lighthouse keeper whales', '-k', '20', '--json']);
    const ids = (JSON.parse(again.out) as { hits: JsonHit[] }).hits.map((h) => h.id);
    assert.equal(ids.length, 11);
    assert.ok(!ids.includes('d5') && !ids.includes('d1'));

    const info = await runCaptured(['info', out]);
    assert.match(info.out, /passages {3}11 documents \(and \d+ deleted rows until semsearch compact\)\n/);
    assert.match(info.out, new RegExp(`chunked    ${after.count - (after.deleted ?? 0)} windows of at most 64 tokens, overlap 7`));
    // push takes a chunked index (its windows become OpenSearch documents; src/opensearch/opensearch.cluster.test.ts):
    // with no cluster at the address, what stops it is the connection, not the chunking.
    const push = await runCaptured(['push', out, '--url', 'http://127.0.0.1:9', '--index-name', 'manuals']);
    assert.equal(push.code, 1, push.err);
    assert.match(push.err, /BACKEND_UNAVAILABLE: .*127\.0\.0\.1:9/);
    assert.doesNotMatch(push.err, /chunk/);
    // eval --chunk: full retrieval over the corpus ranks documents by their best window, as the chunked index does.
    const queries = join(dir, 'q.tsv');
    writeFileSync(queries, 'q1\tlighthouse keeper whales\nq2\tlondon bridge\n');
    const qrels = join(dir, 'qrels.txt');
    writeFileSync(qrels, 'q1 0 d5 2\nq1 0 d3 1\nq2 0 d0 1\n');
    const runFile = join(dir, 'chunk.run');
    const ev = await runCaptured(['eval', '-m', DISTILBERT, '--corpus', corpus, '--queries', queries, '--qrels', qrels, '--chunk', '--depth', '12', '-o', runFile, '--json']);
    assert.equal(ev.code, 0, ev.err);
    const runLines = readFileSync(runFile, 'utf8').trim().split('\n').map((l) => l.split(/\s+/));
    const full = join(dir, 'full');
    assert.equal((await runCaptured(['index', corpus, '-m', DISTILBERT, '-o', full, '--chunk'])).code, 0);
    const viaIndex = await runCaptured(['search', full, 'lighthouse keeper whales', '-k', '12', '--json']);
    assert.deepEqual(
      runLines.filter((l) => l[0] === 'q1').map((l) => l[2]),
      (JSON.parse(viaIndex.out) as { hits: JsonHit[] }).hits.map((h) => h.id),
      'eval --chunk ranks as the chunked index',
    );
    const evIndex = await runCaptured(['eval', '-m', DISTILBERT, '--index', full, '--queries', queries, '--qrels', qrels, '--chunk']);
    assert.equal(evIndex.code, 2);
    assert.match(evIndex.err, /INVALID_ARGUMENT: chunk cuts the documents of full retrieval over a corpus/);
    const plainAdd = await runCaptured(['add', join(dir, 'plain'), more, '--chunk']);
    assert.equal(plainAdd.code, 1);
    assert.match(plainAdd.err, /INDEX_MISMATCH: .* was built without --chunk/);
    const noChunk = await runCaptured(['index', corpus, '-m', DISTILBERT, '-o', join(dir, 'x'), '--chunk-tokens', '32']);
    assert.equal(noChunk.code, 2);
    assert.match(noChunk.err, /INVALID_ARGUMENT: --chunk-tokens sets how --chunk cuts; add --chunk/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
