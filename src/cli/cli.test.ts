import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from './main.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));

async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const code = await runCli(argv, { stdout, stderr, stdin: Readable.from([stdin]), env: {} });
  return { code, out, err };
}

test('semsearch encode prints one embedding per text, from arguments or stdin lines', async () => {
  const a = await run(['encode', '-m', BERT, 'How big is London', 'London is known for its financial district']);
  assert.equal(a.code, 0, a.err);
  const j = JSON.parse(a.out) as { dim: number; embeddings: number[][] };
  assert.equal(j.embeddings.length, 2);
  assert.equal(j.dim, 32);
  const b = await run(['encode', '--model', BERT], 'How big is London\nLondon is known for its financial district\n');
  assert.deepEqual((JSON.parse(b.out) as { embeddings: number[][] }).embeddings, j.embeddings);
});

test('usage errors exit 2 with one line naming the problem, never a stack', async () => {
  const unknown = await run(['nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command 'nope'/);
  const badFlag = await run(['encode', '--modle', BERT, 'x']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.err, /INVALID_ARGUMENT: unknown option --modle/);
  const missing = await run(['encode', '-m', '/nonexistent/model', 'x']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /MODEL_NOT_FOUND/);
  assert.doesNotMatch(missing.err, /\n\s+at /);
});

test('semsearch index, search (arguments, --json, interactive lines) and info on a small real corpus', async () => {
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-cli-'));
  try {
    const lines = readFileSync(fileURLToPath(new URL('../../../shared/data/msmarco-passage-dl19-relevant-subset/collection.tsv', import.meta.url)), 'utf8')
      .split('\n')
      .slice(0, 120);
    const corpus = join(dir, 'c.tsv');
    writeFileSync(corpus, lines.join('\n') + '\n');
    const out = join(dir, 'idx');
    const built = await run(['index', corpus, '-m', BERT, '-o', out, '--shard-size', '50']);
    assert.equal(built.code, 0, built.err);
    assert.match(built.out, /complete: 120 passages in 3 shards \(float32, dim 32\)/);
    assert.match(built.err, /indexed 120\/120 passages/);

    const listed = await run(['search', out, 'how big is london', '-k', '3']);
    assert.equal(listed.code, 0, listed.err);
    assert.equal(listed.out.split('\n').filter((l) => /^\s+\d\. /.test(l)).length, 3);
    const json = await run(['search', out, 'how big is london', '-k', '3', '--json']);
    const parsed = JSON.parse(json.out) as { hits: { id: string; score: number }[] };
    assert.equal(parsed.hits.length, 3);
    assert.ok(parsed.hits[0] !== undefined && parsed.hits[0].score >= (parsed.hits[2]?.score ?? 0));
    const interactive = await run(['search', out, '--json', '-k', '2'], 'how big is london\n\nsymptoms of flu\n');
    assert.deepEqual(
      interactive.out.trim().split('\n').map((l) => (JSON.parse(l) as { query: string }).query),
      ['how big is london', 'symptoms of flu'],
    );
    assert.equal((JSON.parse(interactive.out.split('\n')[0] as string) as { hits: { id: string }[] }).hits[0]?.id, parsed.hits[0]?.id);

    const info = await run(['info', out, '--json']);
    const i = JSON.parse(info.out) as { count: number; dim: number; precision: string; complete: boolean };
    assert.deepEqual([i.count, i.dim, i.precision, i.complete], [120, 32, 'float32', true]);
    const missing = await run(['search', join(dir, 'nope'), 'x']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /INDEX_NOT_FOUND/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
