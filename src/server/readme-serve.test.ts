import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createServer, type SemsearchServer } from './server.js';
import { buildAnnIndex } from '../store/ann.js';
import { docBlock } from '../test-support/doc-blocks.js';
import { buildTestIndex, SKIP_WITHOUT_SHARED } from './test-support/fixture.js';

const run = promisify(execFile);

/** The curl commands of the README's serving section, continuation lines joined. */
function readmeCurls(): string[] {
  return docBlock('README.md', 'Serve an index over HTTP', 0)
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((l) => l.startsWith('curl '))
    .map((l) => l.replace(/\s+#.*$/, ''));
}

let fixture: Awaited<ReturnType<typeof buildTestIndex>>;
let server: SemsearchServer;
before(async () => {
  if (SKIP_WITHOUT_SHARED !== false) return;
  // As the README's dl19-index: --precision int8 --ann f16.
  fixture = await buildTestIndex(40, 'int8');
  await buildAnnIndex(fixture.index, { quantization: 'f16' });
  server = await createServer({ index: fixture.index, log: () => undefined });
});
after(async () => {
  await server?.close();
  fixture?.cleanup();
});

test("the README's curl calls work as written against a served index", { skip: SKIP_WITHOUT_SHARED }, async () => {
  const curls = readmeCurls();
  assert.ok(curls.length >= 10, `found ${curls.length} curl lines`);
  for (const cmd of curls) {
    const line = `${cmd.replace('localhost:8080', `127.0.0.1:${server.port}`)} -o /dev/null -w '%{http_code}'`;
    const { stdout } = await run('sh', ['-c', line]);
    assert.equal(stdout, '200', cmd);
  }
});

test("the README's sample search answer is what its own index gives: precision, exact and rescored", { skip: SKIP_WITHOUT_SHARED }, async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const shown = /"k":3,"precision":"(\w+)","rescored":(\w+),"exact":(\w+)/.exec(readme);
  assert.ok(shown !== null, 'the README shows a search answer');
  const res = (await (await fetch(`${server.url}/search`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query: 'do goldfish grow', k: 3 }) })).json()) as Record<string, unknown>;
  assert.deepEqual([res['precision'], String(res['rescored']), String(res['exact'])], [shown[1], shown[2], shown[3]]);
});
