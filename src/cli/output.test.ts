// The files commands write (mine -o, encode -o, eval -o, export's graph): checked before any work, never an
// input, never a folder, and written through a temporary file renamed into place.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSemsearchError } from '../errors.js';
import { checkOutputPath, openOutputFile } from './output.js';
import { runCaptured } from './test-support/run-cli.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const fixture = JSON.parse(readFileSync(new URL('../mine/fixtures/mine.json', import.meta.url), 'utf8')) as { anchors: string[]; positives: string[] };

describe('output files', () => {
  let dir: string;
  let pairs: string;
  let pairsText: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'semsearch-output-'));
    pairs = join(dir, 'pairs.jsonl');
    pairsText = fixture.anchors.map((a, i) => JSON.stringify({ query: a, answer: fixture.positives[i] })).join('\n') + '\n';
    writeFileSync(pairs, pairsText);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('mine -o a folder: FILE_WRITE_FAILED naming --out before the model is loaded (was a stack trace after all the encoding)', async () => {
    const folder = join(dir, 'rows');
    mkdirSync(folder);
    // A model that does not exist: the output is refused before it would be looked for.
    for (const model of ['/nonexistent/model', BERT]) {
      const r = await runCaptured(['mine', '-m', model, '--pairs', pairs, '-o', folder, '--json']);
      assert.equal(r.code, 1, r.err);
      const error = (JSON.parse(r.err) as { error: { code: string; field: string; message: string } }).error;
      assert.equal(error.code, 'FILE_WRITE_FAILED');
      assert.equal(error.field, '--out');
      assert.match(error.message, /is a folder; give the name of a file to write/);
    }
    assert.deepEqual(readdirSync(folder), []);
  });

  test('mine -o an input (by its name, a symbolic link or a hard link): refused, the input left as it was (was overwritten)', async () => {
    const sym = join(dir, 'sym.jsonl');
    symlinkSync(pairs, sym);
    const hard = join(dir, 'hard.jsonl');
    linkSync(pairs, hard);
    const corpus = join(dir, 'c.tsv');
    writeFileSync(corpus, 'd1\tsome passage\n');
    for (const [out, extra] of [
      [pairs, []],
      [join(dir, '.', 'pairs.jsonl'), []],
      [sym, []],
      [hard, []],
      [corpus, ['--corpus', `${join(dir, 'x.tsv')}, ${corpus}`]],
    ] as [string, string[]][]) {
      const r = await runCaptured(['mine', '-m', BERT, '--pairs', pairs, ...extra, '-o', out]);
      assert.equal(r.code, 2, `${out}: ${r.err}`);
      assert.match(r.err, /INVALID_ARGUMENT: --out .* is the input file .*: writing it would destroy the input/);
    }
    assert.equal(readFileSync(pairs, 'utf8'), pairsText);
    assert.equal(readFileSync(corpus, 'utf8'), 'd1\tsome passage\n');
  });

  test('eval -o an input or a folder is refused before the model loads; export checks the name of its graph the same way', async () => {
    const run = join(dir, 'first.run');
    const runText = 'q1 Q0 d1 1 2.0 bm25\nq1 Q0 d2 2 1.0 bm25\n';
    writeFileSync(run, runText);
    const qrels = join(dir, 'qrels.txt');
    writeFileSync(qrels, 'q1 0 d1 1\n');
    const queries = join(dir, 'q.tsv');
    writeFileSync(queries, 'q1\twhat\n');
    const corpus = join(dir, 'docs.tsv');
    writeFileSync(corpus, 'd1\tfirst\nd2\tsecond\n');
    const base = ['eval', '-m', '/nonexistent/model', '--candidates', run, '--qrels', qrels, '--queries', queries, '--corpus', corpus];
    for (const input of [run, qrels, queries, corpus]) {
      const r = await runCaptured([...base, '--out', input]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /INVALID_ARGUMENT: --out .* is the input file/);
    }
    assert.equal(readFileSync(run, 'utf8'), runText);
    const folder = await runCaptured([...base, '--out', dir]);
    assert.match(folder.err, /FILE_WRITE_FAILED: --out .* is a folder/);
    // The cross-encoder-only path too.
    const cross = await runCaptured(['eval', '--cross-encoder', '/nonexistent/ce', '--candidates', run, '--qrels', qrels, '--queries', queries, '--corpus', corpus, '--out', run]);
    assert.match(cross.err, /INVALID_ARGUMENT: --out .* is the input file/);
    // A real run written under --out: through a temporary file, nothing else left beside it.
    const outDir = join(dir, 'runs');
    mkdirSync(outDir);
    const written = await runCaptured(['eval', '-m', BERT, '--candidates', run, '--qrels', qrels, '--queries', queries, '--corpus', corpus, '--out', join(outDir, 'new.run')]);
    assert.equal(written.code, 0, written.err);
    assert.deepEqual(readdirSync(outDir), ['new.run']);
    assert.match(readFileSync(join(outDir, 'new.run'), 'utf8'), /^q1 Q0 d\d 1 /);
    // export: its graph's name taken by a folder.
    const model = join(dir, 'model');
    mkdirSync(join(model, 'onnx', 'model.onnx'), { recursive: true });
    const ex = await runCaptured(['export', model, '--force']);
    assert.equal(ex.code, 1, ex.err);
    assert.match(ex.err, /FILE_WRITE_FAILED: model .*model\.onnx: is a folder/);
  });

  test('checkOutputPath and openOutputFile: a missing folder, a file standing as the folder; commit renames, abort keeps the old file', async () => {
    const refused = (f: () => void, code: string, pattern: RegExp): void => {
      assert.throws(f, (e: unknown) => isSemsearchError(e) && e.code === code && pattern.test(e.message));
    };
    refused(() => checkOutputPath(join(dir, 'nope', 'x.json'), '--out'), 'FILE_WRITE_FAILED', /the folder .*nope does not exist/);
    refused(() => checkOutputPath(join(pairs, 'x.json'), '--out'), 'FILE_WRITE_FAILED', /pairs\.jsonl is not a folder/);
    refused(() => checkOutputPath('', '--out'), 'FILE_WRITE_FAILED', /give a file name/);
    checkOutputPath(join(dir, 'nope', 'x.json'), '--out', [], { createsFolder: true });
    checkOutputPath(join(dir, 'fresh.json'), '--out', [pairs, undefined, join(dir, 'missing-input')]);

    const sub = join(dir, 'atomic');
    mkdirSync(sub);
    const target = join(sub, 'f.txt');
    writeFileSync(target, 'before');
    const a = await openOutputFile(target);
    await a.write('half of it');
    await a.abort();
    assert.equal(readFileSync(target, 'utf8'), 'before');
    assert.deepEqual(readdirSync(sub), ['f.txt']);
    const b = await openOutputFile(target);
    await b.write('é'.repeat(100_000));
    assert.equal(readFileSync(target, 'utf8'), 'before', 'nothing shows under the name before commit');
    await b.commit();
    assert.equal(readFileSync(target, 'utf8'), 'é'.repeat(100_000));
    assert.deepEqual(readdirSync(sub), ['f.txt']);
  });
});
