import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveModel } from './index.js';
import { sha256, startHubServer, type HubServer } from './test-support/hub-server.js';
import { FIXTURE_ID, makeFixture, NEEDED_DEFAULT, type Fixture } from './test-support/fixture.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, 'test-support', 'resolve-cli.ts');
const NETWORK = { timeoutMs: 2000, downloadTimeoutMs: 2000, retries: 3, retryBaseMs: 10, retryMaxMs: 50 };

let server: HubServer;
let fixture: Fixture;
let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'semsearch-procs-'));
  fixture = makeFixture(root, { onnxBytes: 120_000 });
  server = await startHubServer([fixture.repo]);
});
after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  server.clearFaults();
  server.clearRequests();
});

const onnx = (): Buffer => fixture.files.get('onnx/model.onnx') as Buffer;
const storage = (cacheDir: string): string => join(cacheDir, `models--${FIXTURE_ID.replace('/', '--')}`);

/** A child process running resolveModel against the look-alike, with an environment free of the developer's HF_* settings. */
function child(cacheDir: string, network = NETWORK): { proc: ChildProcess; result: Promise<{ code: number | null; out: string; err: string }> } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HF_') && v !== undefined) env[k] = v;
  Object.assign(env, { HF_ENDPOINT: server.endpoint, HF_HUB_CACHE: cacheDir, HF_HOME: join(root, 'no-home') });
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, FIXTURE_ID, JSON.stringify({ network, lock: { pollMs: 20 } })], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<{ code: number | null; out: string; err: string }>((ok) => proc.on('close', (code) => ok({ code, out, err })));
  return { proc, result };
}

function assertComplete(dir: string): void {
  for (const f of NEEDED_DEFAULT) assert.deepEqual(readFileSync(join(dir, f)), fixture.files.get(f), f);
}

test('two processes downloading the same model into one cache: one transfer, both succeed, nothing corrupt', async () => {
  const cacheDir = mkdtempSync(join(root, 'cache-'));
  // The transfer starts only once both processes have asked for the ONNX file (or after 4 s), and is slow, so the
  // second one certainly finds the first holding the lock, however the two start-ups were scheduled.
  const bothAsked = (async () => {
    const until = Date.now() + 4000;
    while (server.requests.filter((r) => r.method === 'HEAD' && r.url.endsWith('/onnx/model.onnx')).length < 2 && Date.now() < until) await sleep(10);
  })();
  server.addFault({
    server: 'cdn',
    method: 'GET',
    pathIncludes: `/repos/${sha256(onnx())}`,
    gate: bothAsked,
    slow: { chunkBytes: 8000, delayMs: 50 },
  });
  const a = child(cacheDir, { ...NETWORK, timeoutMs: 6000 });
  const b = child(cacheDir, { ...NETWORK, timeoutMs: 6000 });
  const [ra, rb] = await Promise.all([a.result, b.result]);
  assert.equal(ra.code, 0, ra.out + ra.err);
  assert.equal(rb.code, 0, rb.out + rb.err);
  const da = (JSON.parse(ra.out) as { dir: string }).dir;
  const db = (JSON.parse(rb.out) as { dir: string }).dir;
  assert.equal(da, db);
  assertComplete(da);

  const heads = server.requests.filter((r) => r.method === 'HEAD' && r.url.endsWith('/onnx/model.onnx'));
  assert.equal(heads.length, 2, 'both processes were after the ONNX file at the same time');
  const transfers = server.requests.filter((r) => r.server === 'cdn' && r.url.startsWith(`/repos/${sha256(onnx())}`));
  assert.equal(transfers.length, 1, 'the second process waited on the lock and reused the blob');
  for (const f of NEEDED_DEFAULT) {
    const gets = server.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/${fixture.commit}/${f}`));
    assert.ok(gets.length <= 1, `${f} fetched ${gets.length} times`);
  }
  const blobs = readdirSync(join(storage(cacheDir), 'blobs'));
  assert.deepEqual(blobs.filter((n) => n.includes('.')), [], 'no .incomplete left');
  assert.deepEqual(readdirSync(join(cacheDir, '.locks', `models--${FIXTURE_ID.replace('/', '--')}`)), [], 'every lock released');
});

test('a process killed mid-download leaves a partial file that the next run resumes with Range', async () => {
  const cacheDir = mkdtempSync(join(root, 'cache-'));
  const sha = sha256(onnx());
  server.addFault({ server: 'cdn', method: 'GET', pathIncludes: `/repos/${sha}`, slow: { chunkBytes: 2000, delayMs: 40 } });
  const partial = join(storage(cacheDir), 'blobs', `${sha}.incomplete`);
  const c = child(cacheDir);
  const deadline = Date.now() + 15_000;
  while (!(existsSync(partial) && statSync(partial).size >= 20_000)) {
    assert.ok(Date.now() < deadline, 'the child never started the transfer');
    await sleep(10);
  }
  c.proc.kill('SIGKILL');
  const r = await c.result;
  assert.equal(r.code, null, 'killed, not finished');
  const kept = statSync(partial).size;
  assert.ok(kept >= 20_000 && kept < onnx().length, `${kept} bytes kept`);
  assert.deepEqual(readFileSync(partial), onnx().subarray(0, kept), 'the partial file is a clean prefix');
  const locks = readdirSync(join(cacheDir, '.locks', `models--${FIXTURE_ID.replace('/', '--')}`));
  assert.deepEqual(locks, [`${sha}.semsearch.lock`], "the dead process' lock is still there");

  server.clearFaults();
  server.clearRequests();
  const t0 = Date.now();
  const dir = await resolveModel(FIXTURE_ID, { cacheDir, env: { HF_ENDPOINT: server.endpoint, HF_HOME: join(root, 'no-home') }, network: NETWORK });
  assert.ok(Date.now() - t0 < 5000, 'the stale lock was taken over at once');
  assertComplete(dir);
  const transfers = server.requests.filter((r) => r.server === 'cdn' && r.url.startsWith(`/repos/${sha}`));
  assert.deepEqual(transfers.map((t) => t.range), [`bytes=${kept}-`]);
  assert.equal(existsSync(partial), false);
});
