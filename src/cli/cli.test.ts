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
