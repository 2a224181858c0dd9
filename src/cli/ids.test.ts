// Issue 28, item 4, through the index: ids and texts are stored as given or refused with INVALID_ENCODING, never
// changed (before: an id with a lone surrogate was stored as U+FFFD and could then be deleted neither by the CLI
// nor over HTTP); metadata side-file rows that name no passage are counted and reported (before: dropped silently).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSemsearchError, type SemsearchError } from '../errors.js';
import { loadModelFromDir } from '../encoder/load-model.js';
import { buildIndex } from '../store/build-index.js';
import { readManifest } from '../store/manifest.js';
import { IndexWriter } from '../store/write-index.js';
import { runCaptured } from './test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));

function invalid(field: string, message: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSemsearchError(e, 'INVALID_ENCODING'), String(e));
    assert.equal((e as SemsearchError).field, field);
    assert.match((e as SemsearchError).message, message);
    return true;
  };
}

test('index, add and delete: ill-formed ids and texts are refused with INVALID_ENCODING; unmatched metadata rows are reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-ids-'));
  try {
    const corpus = join(dir, 'c.tsv');
    writeFileSync(corpus, ['p1\tthe harbour castle by the sea', 'p2\tcoffee and bread for breakfast', 'p3\twinter snow on the mountain'].join('\n') + '\n');
    const side = join(dir, 'side.jsonl');
    writeFileSync(side, [{ id: 'p1', year: 2020 }, { id: 'x9', year: 2021 }, { id: 'p3', year: 2022 }, { id: 'p33', year: 1 }].map((o) => JSON.stringify(o)).join('\n') + '\n');
    const out = join(dir, 'idx');
    const built = await runCaptured(['index', corpus, '-m', BERT, '-o', out, '--metadata', side]);
    assert.equal(built.code, 0, built.err);
    assert.match(built.err, /semsearch index: warning: 2 metadata rows of .*side\.jsonl name no passage of .*c\.tsv \(ids x9, p33\); their fields were not used/);

    // The library says the same in its result.
    const model = await loadModelFromDir(BERT);
    try {
      const r = await buildIndex({ corpus, out: join(dir, 'lib'), model, modelRef: BERT, metadata: side });
      assert.deepEqual(r.metadataUnmatched, { count: 2, ids: ['x9', 'p33'] });
      const none = await buildIndex({ corpus, out: join(dir, 'plain'), model, modelRef: BERT });
      assert.deepEqual(none.metadataUnmatched, { count: 0, ids: [] });

      // Library writes: an id, a text or a metadata string with a lone surrogate is refused before anything is written.
      const writer = await IndexWriter.open(out, { model });
      try {
        await assert.rejects(writer.upsert([{ id: 'ok', text: 'fine' }, { id: 'bad\ud800', text: 'a passage' }]), invalid('documents[1].id', /documents\[1\]\.id: the document id holds a lone UTF-16 surrogate \(U\+D800 at index 3\)/));
        await assert.rejects(writer.upsert([{ id: 'ok', text: 'half an emoji \ud83d' }]), invalid('documents[0].text', /text of document ok/));
        await assert.rejects(writer.upsert([{ id: 'ok', text: 'fine', metadata: { lang: '\udc00' } }]), invalid('documents[0].metadata.lang', /metadata field lang/));
        await assert.rejects(writer.delete(['p1', '\udfffp2']), invalid('ids[1]', /id to delete/));
        // A well-formed id with a surrogate pair is stored and deleted as given.
        await writer.upsert([{ id: 'emoji 😀', text: 'a passage with an emoji id' }]);
        assert.deepEqual(writer.missing(['emoji 😀']), []);
        await writer.delete(['emoji 😀']);
      } finally {
        await writer.close();
      }
    } finally {
      await model.dispose();
    }
    const generation = readManifest(out).generation;

    // CLI add: a file that is not UTF-8 names its line; a JSONL id with a lone surrogate too. Nothing is written.
    const bytes = join(dir, 'bytes.tsv');
    writeFileSync(bytes, Buffer.concat([Buffer.from('p4\tfine\np5\tcaf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const a1 = await runCaptured(['add', out, bytes]);
    assert.equal(a1.code, 1, a1.err);
    assert.match(a1.err, /INVALID_ENCODING: .*bytes\.tsv:2: not valid UTF-8 \(bytes e9 0a\)/);
    const jsonl = join(dir, 'more.jsonl');
    writeFileSync(jsonl, '{"_id": "p6", "text": "fine"}\n{"_id": "p7\\ud800", "text": "lone"}\n');
    const a2 = await runCaptured(['add', out, jsonl]);
    assert.equal(a2.code, 1, a2.err);
    assert.match(a2.err, /INVALID_ENCODING: .*more\.jsonl:2: id: the passage id holds a lone UTF-16 surrogate/);
    assert.equal(readManifest(out).generation, generation);

    // CLI add with a side file: unmatched rows reported.
    const addCorpus = join(dir, 'add.tsv');
    writeFileSync(addCorpus, 'p8\ta passage about the ocean island\n');
    const addSide = join(dir, 'add-side.jsonl');
    writeFileSync(addSide, '{"id": "p8", "year": 2000}\n{"id": "p9", "year": 2001}\n');
    const a3 = await runCaptured(['add', out, addCorpus, '--metadata', addSide]);
    assert.equal(a3.code, 0, a3.err);
    assert.match(a3.err, /semsearch add: warning: 1 metadata row of .*add-side\.jsonl names no passage of .*add\.tsv \(id p9\); their fields were not used/);

    // CLI delete: an argument with a lone surrogate, an ids file that is not UTF-8.
    const d1 = await runCaptured(['delete', out, 'p1', 'p\ud800']);
    assert.equal(d1.code, 1, d1.err);
    assert.match(d1.err, /INVALID_ENCODING: ids: the id 2 to delete holds a lone UTF-16 surrogate/);
    const idsFile = join(dir, 'ids.txt');
    writeFileSync(idsFile, Buffer.concat([Buffer.from('p1\np'), Buffer.from([0xff]), Buffer.from('\n')]));
    const d2 = await runCaptured(['delete', out, '--ids-file', idsFile]);
    assert.equal(d2.code, 1, d2.err);
    assert.match(d2.err, /INVALID_ENCODING: .*ids\.txt:2: not valid UTF-8/);
    const d3 = await runCaptured(['delete', out, 'p1']);
    assert.equal(d3.code, 0, d3.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
