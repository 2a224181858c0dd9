import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest } from '../store/manifest.js';
import { passageMeta, passageText, writeCorpus, type Content } from '../store/test-support/living.js';
import { runCaptured } from './test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));

interface JsonHit {
  id: string;
  score: number;
  metadata?: Record<string, unknown>;
}

test('semsearch add, delete, compact and search --where on an index, with metadata from a side file and from BEIR fields', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-cli-write-'));
  try {
    const base = new Map<string, Content>();
    for (let i = 0; i < 40; i++) base.set(`p${i}`, { text: passageText(i), metadata: passageMeta(i) });
    const { corpus, metadata } = writeCorpus(dir, 'base', base);
    const out = join(dir, 'idx');
    const built = await runCaptured(['index', corpus, '-m', BERT, '-o', out, '--shard-size', '16', '--metadata', metadata]);
    assert.equal(built.code, 0, built.err);

    // A BEIR file: new documents, one replacing p1; its title and extra field become metadata.
    const beir = join(dir, 'more.jsonl');
    writeFileSync(
      beir,
      [
        JSON.stringify({ _id: 'b1', title: 'Harbour', text: 'a passage about the harbour castle', year: 2031, lang: 'en' }),
        JSON.stringify({ _id: 'p1', title: 'Rewritten', text: 'the first passage rewritten about coffee', year: 1991 }),
        JSON.stringify({ _id: 'b2', title: '', text: 'a passage about winter snow', draft: true }),
      ].join('\n') + '\n',
    );
    const add = await runCaptured(['add', out, beir, '--commit-size', '2']);
    assert.equal(add.code, 0, add.err);
    assert.deepEqual(add.out.trim().split('\n'), [
      'committed generation 1 (add): 1 added, 1 replaced; 41 documents',
      'committed generation 2 (add): 1 added; 42 documents',
    ]);
    assert.deepEqual(readManifest(out).fields, { year: 'number', lang: 'string', draft: 'boolean', title: 'string' });

    const where = await runCaptured(['search', out, 'passage', '-k', '50', '--json', '--where', '{"and": [{"year": {"gte": 2015}}, {"lang": {"in": ["en", "fr"]}}]}']);
    assert.equal(where.code, 0, where.err);
    const hits = (JSON.parse(where.out) as { hits: JsonHit[] }).hits;
    const allowed = [...base].filter(([, c]) => (c.metadata?.year as number) >= 2015 && ['en', 'fr'].includes(c.metadata?.lang as string)).map(([id]) => id);
    assert.deepEqual(hits.map((h) => h.id).sort(), [...allowed, 'b1'].sort());
    assert.deepEqual(hits.find((h) => h.id === 'b1')?.metadata, { year: 2031, lang: 'en', title: 'Harbour' });

    const bad = await runCaptured(['search', out, 'x', '--where', '{"colour": "red"}']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /FILTER_INVALID: filter\.colour: unknown field "colour"/);
    const notJson = await runCaptured(['search', out, 'x', '--where', '{year: 1}']);
    assert.match(notJson.err, /FILTER_INVALID: --where is not valid JSON/);

    // A file with a bad record anywhere adds nothing.
    const dup = join(dir, 'dup.tsv');
    writeFileSync(dup, 'n1\tfirst new passage\nn2\tsecond new passage\nn1\tagain\n');
    const d = await runCaptured(['add', out, dup]);
    assert.equal(d.code, 1);
    assert.match(d.err, /DUPLICATE_ENTRY: .*dup\.tsv:3: passage id n1 appears twice/);
    const typed = join(dir, 'typed.jsonl');
    writeFileSync(typed, JSON.stringify({ _id: 't1', text: 'ok', year: 2000 }) + '\n' + JSON.stringify({ _id: 't2', text: 'ok', year: 'late' }) + '\n');
    const t = await runCaptured(['add', out, typed]);
    assert.match(t.err, /METADATA_INVALID: .*field year is a number in this index/);
    assert.equal(readManifest(out).generation, 2, 'no write was committed by the bad files');

    // --skip-existing adds only the ids the index lacks: the first text of an id wins, as when files are pooled.
    const pooled = join(dir, 'pooled.tsv');
    writeFileSync(pooled, 'p5\ta different text for p5\nfresh\ta fresh passage about rivers\n');
    const skip = await runCaptured(['add', out, pooled, '--skip-existing']);
    assert.equal(skip.code, 0, skip.err);
    assert.equal(skip.out, 'committed generation 3 (add): 1 added; 43 documents\n');
    assert.match(skip.err, /1 passages whose ids the index holds are skipped/);
    const again = await runCaptured(['add', out, pooled, '--skip-existing']);
    assert.match(again.out, /nothing to add: the index holds all 2 passages/);
    const p5 = await runCaptured(['search', out, 'x', '--json', '--where', '{"id": "p5"}']);
    assert.equal((JSON.parse(p5.out) as { hits: { text: string }[] }).hits[0]?.text, passageText(5));
    const del0 = await runCaptured(['delete', out, 'fresh']);
    assert.equal(del0.code, 0, del0.err);

    const unknown = await runCaptured(['delete', out, 'p2', 'nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /UNKNOWN_DOCUMENT: the index holds no document nope; nothing was deleted/);
    const ids = join(dir, 'ids.txt');
    writeFileSync(ids, 'p3\np4\n');
    const del = await runCaptured(['delete', out, 'p2', '--ids-file', ids]);
    assert.equal(del.code, 0, del.err);
    assert.equal(del.out, 'committed generation 5 (delete): 3 deleted; 39 documents\n');
    const info = await runCaptured(['info', out]);
    assert.match(info.out, /passages {3}39 \(and 5 deleted rows until semsearch compact\)/);
    assert.match(info.out, /fields {5}year \(number\), lang \(string\), draft \(boolean\), title \(string\)/);
    const compact = await runCaptured(['compact', out, '--json']);
    assert.equal(compact.code, 0, compact.err);
    assert.deepEqual(JSON.parse(compact.out), { committed: 'compact', generation: 6, added: 0, replaced: 0, deleted: 0, dropped: 5, live: 39 });
    const all = await runCaptured(['search', out, 'passage', '-k', '100', '--json']);
    const ids2 = (JSON.parse(all.out) as { hits: JsonHit[] }).hits.map((h) => h.id);
    assert.equal(ids2.length, 39);
    for (const gone of ['p2', 'p3', 'p4']) assert.ok(!ids2.includes(gone));
    assert.equal(ids2.filter((id) => id === 'p1').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
