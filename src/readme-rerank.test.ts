// The README's "Re-rank with a cross-encoder" example, run as written with the hub name replaced by a random
// cross-encoder that sentence-transformers built (no hub here); what it prints must be what the library computes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCrossEncoderFromDir } from './encoder/cross-encoder.js';
import { materializeCrossEncoder } from './encoder/test-support/fixtures.js';
import { docBlock } from './test-support/doc-blocks.js';

const cleanups: (() => void)[] = [];

const root = fileURLToPath(new URL('..', import.meta.url));

test("the README's cross-encoder example runs as written and prints predict's and rank's answers", async () => {
  const code = docBlock('README.md', 'Re-rank with a cross-encoder', 0);
  assert.match(code, /loadCrossEncoder\('cross-encoder\/ms-marco-MiniLM-L6-v2'\)/);

  try {
    const fixture = materializeCrossEncoder('bert-1');
    cleanups.push(fixture.cleanup);
    const model = fixture.dir;
    const script = join(root, 'examples', `.readme-rerank-${process.pid}.ts`);
    writeFileSync(script, code.replace("'cross-encoder/ms-marco-MiniLM-L6-v2'", JSON.stringify(model)));
    let run;
    try {
      run = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', script], { cwd: root, encoding: 'utf8' });
    } finally {
      rmSync(script, { force: true });
    }
    assert.equal(run.status, 0, run.stderr);

    const ce = await loadCrossEncoderFromDir(model, { workers: 1 });
    const query = 'How big is London';
    const passages = ['London is known for its financial district', 'London has 9,787,426 inhabitants at the 2011 census'];
    const want = (await ce.predict(passages.map((p): [string, string] => [query, p]))).data;
    const ranked = await ce.rank(query, passages, { topK: 2 });
    await ce.dispose();
    const printed = /Scores: \[ ([-\d.e]+), ([-\d.e]+) \]/.exec(run.stdout);
    assert.ok(printed !== null, run.stdout);
    assert.ok(Math.abs(Number(printed[1]) - (want[0] as number)) < 1e-6);
    assert.ok(Math.abs(Number(printed[2]) - (want[1] as number)) < 1e-6);
    const lines = run.stdout.trim().split('\n').slice(1);
    assert.deepEqual(
      lines,
      ranked.map((h) => `${h.corpusId} ${h.score.toFixed(4)} ${passages[h.corpusId]}`),
    );
  } finally {
    cleanups.forEach((c) => c());
  }
});
