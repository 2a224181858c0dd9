import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dotScore, loadModel } from './index.js';
import { docBlock } from './test-support/doc-blocks.js';

const root = fileURLToPath(new URL('..', import.meta.url));

test('the README quickstart is examples/quickstart.ts and prints the dot scores the library computes', async () => {
  const block = docBlock('README.md', 'Quickstart', 0);
  assert.equal(block, readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8'));

  const run = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'examples/quickstart.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, MODEL: '' },
  });
  assert.equal(run.status, 0, run.stderr);
  const printed = /Similarity: \[ ([-\d.e]+), ([-\d.e]+) \]/.exec(run.stdout);
  assert.ok(printed !== null, run.stdout);

  const model = await loadModel(`${root}src/model/fixtures/models/bert`);
  const q = await model.encode('How big is London');
  const p = await model.encode(['London has 9,787,426 inhabitants at the 2011 census', 'London is known for its financial district']);
  const want = dotScore(q, p).row(0);
  assert.ok(Math.abs(Number(printed[1]) - (want[0] as number)) < 1e-6);
  assert.ok(Math.abs(Number(printed[2]) - (want[1] as number)) < 1e-6);
  await model.dispose();
});
