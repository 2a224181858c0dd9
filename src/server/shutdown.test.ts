import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildTestIndex, postJson, SKIP_WITHOUT_SHARED } from './test-support/fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let fixture: Awaited<ReturnType<typeof buildTestIndex>>;
before(async () => {
  if (SKIP_WITHOUT_SHARED !== false) return;
  fixture = await buildTestIndex(60);
});
after(() => fixture?.cleanup());

test('semsearch serve: SIGTERM finishes the request in flight, refuses new connections and exits 0', { skip: SKIP_WITHOUT_SHARED }, async () => {
  // A long batching wait holds the request inside the server when the signal comes.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', fixture.index, '--port', '0', '--max-wait-ms', '1500', '--quiet-ms', '1500'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += String(d);
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m !== null) resolve(m[1] as string);
      });
      void exited.then((code) => reject(new Error(`serve exited ${code} before listening: ${err}`)));
    });
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    const t = performance.now();
    const inFlight = postJson(`${url}/search`, { query: 'how long is hurricane season in jamaica', k: 3 });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const r = await inFlight;
    assert.equal(r.status, 200, r.text);
    assert.equal((r.json['results'] as { hits: unknown[] }[])[0]?.hits.length, 3);
    assert.ok(performance.now() - t < 1400, 'shutdown sends the waiting batch at once instead of waiting out the batching delay');
    assert.equal(await exited, 0, err);
    assert.match(err, /SIGTERM: finishing requests in flight/);
    assert.match(err, /stopped/);
    await assert.rejects(fetch(`${url}/health`));
  } finally {
    child.kill('SIGKILL');
  }
});
