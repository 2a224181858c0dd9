import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest } from '../store/manifest.js';
import { runCaptured } from './test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));

interface JsonHit {
  id: string;
  metadata?: Record<string, unknown>;
}

describe('index - and add -: the corpus from standard input', () => {
  let dir: string;
  let tmpBefore: string[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-stdin-corpus-'));
    tmpBefore = readdirSync(tmpdir()).filter((f) => f.startsWith('semsearch-stdin-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('index - reads MS MARCO tsv from stdin (told by its tab), records "-" and resumes from the same input', async () => {
    const out = join(dir, 'idx');
    const tsv = 'p1\ta passage about london bridges\np2\ta passage about coffee and bread\np3\ta passage about winter snow\n';
    const built = await runCaptured(['index', '-', '-m', BERT, '-o', out, '--shard-size', '2', '--limit', '2'], { stdin: tsv });
    assert.equal(built.code, 0, built.err);
    assert.match(built.out, /^partial: 2 passages/);
    assert.equal(readManifest(out).corpus.path, '-');
    assert.equal(readManifest(out).corpus.format, 'msmarco');
    const resumed = await runCaptured(['index', '-', '-m', BERT, '-o', out, '--shard-size', '2'], { stdin: tsv });
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.out, /^complete: 3 passages .* added 1, resumed from 2/);
    const changed = await runCaptured(['index', '-', '-m', BERT, '-o', out], { stdin: tsv.replace('coffee', 'tea') });
    assert.equal(changed.code, 1);
    assert.match(changed.err, /CORPUS_CHANGED: <stdin> changed since the index/);
    const s = await runCaptured(['search', out, 'london', '-k', '1', '--json']);
    assert.equal((JSON.parse(s.out) as { hits: JsonHit[] }).hits[0]?.id, 'p1');
  });

  test('add - reads BEIR JSONL (told by its first line, or --format), checks it whole, and names <stdin> in errors', async () => {
    const out = join(dir, 'idx2');
    const built = await runCaptured(['index', '-', '-m', BERT, '-o', out], { stdin: 'p1\tfirst passage about rivers\n' });
    assert.equal(built.code, 0, built.err);
    const beir = [JSON.stringify({ _id: 'b1', title: 'Harbour', text: 'a passage about the harbour castle', year: 2031 }), JSON.stringify({ _id: 'b2', text: 'snow' })].join('\n') + '\n';
    const add = await runCaptured(['add', out, '-'], { stdin: beir });
    assert.equal(add.code, 0, add.err);
    assert.equal(add.out, 'committed generation 1 (add): 2 added; 3 documents\n');
    const s = await runCaptured(['search', out, 'harbour', '--json', '--where', '{"year": 2031}']);
    assert.deepEqual((JSON.parse(s.out) as { hits: JsonHit[] }).hits.map((h) => [h.id, h.metadata]), [['b1', { year: 2031, title: 'Harbour' }]]);
    const tsv = await runCaptured(['add', out, '-', '--format', 'msmarco'], { stdin: 't1\ta tsv passage\n' });
    assert.equal(tsv.code, 0, tsv.err);
    const dup = await runCaptured(['add', out, '-'], { stdin: 'n1\tone\nn1\ttwo\n' });
    assert.equal(dup.code, 1);
    assert.match(dup.err, /DUPLICATE_ENTRY: <stdin>:2: passage id n1 appears twice in <stdin>/);
    const unknown = await runCaptured(['add', out, '-', '--json'], { stdin: 'no tab on this line\n' });
    assert.equal(unknown.code, 2);
    const error = (JSON.parse(unknown.err) as { error: { code: string; field: string; message: string } }).error;
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal(error.field, '--format');
    assert.match(error.message, /cannot tell the corpus format of <stdin> from its first line/);
    const empty = await runCaptured(['add', out, '-'], { stdin: '\n\n' });
    assert.match(empty.err, /EMPTY_INPUT: <stdin> holds no passages/);
    const folder = await runCaptured(['add', out, '-', '--format', 'folder'], { stdin: 'x\ty\n' });
    assert.match(folder.err, /INVALID_ARGUMENT: standard input is one file/);
    assert.equal(readManifest(out).generation, 2, 'only the two good inputs were committed');
    // The spooled copies are gone.
    assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith('semsearch-stdin-') && !tmpBefore.includes(f) && !f.startsWith('semsearch-stdin-corpus-')), []);
  });

  test('add --help states the crash guarantee that src/store/crash.test.ts proves: printed commits stay, the one in flight may land whole', async () => {
    const help = await runCaptured(['add', '--help']);
    assert.equal(help.code, 0);
    const text = help.out.replace(/\s+/g, ' ');
    // crash.ts accepts acked or acked + 1 whole writes: an unprinted commit may have landed.
    assert.doesNotMatch(text, /none of the rest/);
    assert.match(text, /the index holds every printed commit, possibly the one being written when it died \(whole, unprinted\), and nothing of the later ones; never half a commit/);
    assert.match(text, /tested with kill -9/);
    assert.match(text, /Power loss and OS crashes are not tested/);
    assert.match(text, /"-" reads it from standard input/);
  });
});
