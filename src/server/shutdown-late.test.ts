// Shutdown under load (issue 29): a request still running when the shutdown timeout passes gets a 503 with
// Retry-After before its connection closes, never a connection closed with no response.
import { after, before, test } from 'node:test';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFromDir } from '../encoder/load-model.js';
import { cleanBuild, passageText, type Content } from '../store/test-support/living.js';
import { lockForWriting } from '../store/writer-lock.js';
import { createServer } from './server.js';
import { BERT, postJson } from './test-support/fixture.js';

let tmp: string;
let dir: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-shutdown-late-'));
  const model = await loadModelFromDir(BERT);
  const content = new Map<string, Content>();
  for (let i = 0; i < 20; i++) content.set(`p${i}`, { text: passageText(i) });
  dir = await cleanBuild(tmp, 'late', content, model, BERT);
  await model.dispose();
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('requests that outlive the shutdown timeout are answered 503 SERVER_NOT_READY with Retry-After, then their connections close', async () => {
  // One worker, named: the default (2 on 2+ cores) would answer the search on the second while the first waits.
  const server = await createServer({ index: dir, workers: 1, shutdownTimeoutMs: 300, log: () => undefined });
  // Another writer holds the index: the server's write waits for it (up to 30 s), holding the one worker, and a
  // search sent after it waits in the queue. Neither can finish within the 300 ms shutdown timeout.
  const release = await lockForWriting(dir);
  let closed: Promise<void> | undefined;
  try {
    const write = postJson(`${server.url}/documents`, { documents: [{ id: 'late', text: 'a passage written during shutdown' }] });
    await new Promise((r) => setTimeout(r, 200));
    const search = postJson(`${server.url}/search`, { query: 'passage', k: 3 });
    await new Promise((r) => setTimeout(r, 100));
    const t = performance.now();
    closed = server.close();
    for (const r of await Promise.all([write, search])) {
      assert.equal(r.status, 503, r.text);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal(r.headers.get('connection'), 'close');
      assert.equal((r.json.error as { code: string }).code, 'SERVER_NOT_READY');
      assert.match((r.json.error as { message: string }).message, /shutting down .* did not finish within its shutdown timeout \(0\.3 s\); retry it/);
    }
    const waited = performance.now() - t;
    assert.ok(waited >= 250 && waited < 2500, `answered after the timeout, not before: ${waited.toFixed(0)} ms`);
  } finally {
    await release();
    await closed;
  }
  await assert.rejects(fetch(`${server.url}/health`));
});

test('semsearch serve: SIGTERM with a request that outlives --shutdown-timeout-ms answers it 503 with Retry-After, then exits 0', async () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', dir, '--port', '0', '--shutdown-timeout-ms', '300'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const release = await lockForWriting(dir);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += String(d);
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m !== null) resolve(m[1] as string);
      });
      void exited.then((code) => reject(new Error(`serve exited ${code} before listening: ${err}`)));
    });
    const write = postJson(`${url}/documents`, { documents: [{ id: 'late', text: 'a passage written during shutdown' }] });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const r = await write;
    assert.equal(r.status, 503, r.text);
    assert.equal(r.headers.get('retry-after'), '1');
    assert.equal((r.json.error as { code: string }).code, 'SERVER_NOT_READY');
  } finally {
    await release();
  }
  assert.equal(await exited, 0, err);
  assert.match(err, /stopped/);
});
