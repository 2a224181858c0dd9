import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveModel, type ResolveModelOptions } from './index.js';
import { isSemsearchError } from '../errors.js';
import { expectedEtag, sha256, startHubServer, type HubServer } from './test-support/hub-server.js';
import { FIXTURE_ID, makeFixture, NEEDED_DEFAULT, NEVER_FETCHED, type Fixture } from './test-support/fixture.js';
import type { DownloadProgress } from './progress.js';
import { detectCpu } from '../cpu/features.js';

const TOKEN = 'hf_testtoken123';
let server: HubServer;
let fixture: Fixture;
let privateFixture: Fixture;
let quantizedFixture: Fixture;
const QUANTIZED = ['qint8_avx512_vnni', 'qint8_avx512', 'quint8_avx2', 'qint8_arm64'];
let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'semsearch-resolve-'));
  fixture = makeFixture(root);
  privateFixture = makeFixture(join(root, 'private'), { id: 'acme/private-model', private: true });
  quantizedFixture = makeFixture(join(root, 'quantized'), {
    id: 'acme/quantized',
    extraFiles: Object.fromEntries(QUANTIZED.map((v) => [`onnx/model_${v}.onnx`, Buffer.from(`int8 ${v}\n`)])),
  });
  server = await startHubServer([fixture.repo, privateFixture.repo, quantizedFixture.repo], TOKEN);
});
after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  server.clearFaults();
  server.clearRequests();
});

const FAST = { timeoutMs: 1000, downloadTimeoutMs: 1000, retries: 3, retryBaseMs: 5, retryMaxMs: 20 };

/** Options with a fresh cache and an environment of our own, so a developer's HF_TOKEN or HF_HUB_OFFLINE stays out. */
function opts(extra: ResolveModelOptions = {}, env: Record<string, string> = {}): ResolveModelOptions & { cacheDir: string } {
  return {
    cacheDir: mkdtempSync(join(root, 'cache-')),
    env: { HF_ENDPOINT: server.endpoint, HF_HOME: join(root, 'no-home'), ...env },
    network: FAST,
    ...extra,
  };
}

/** A loopback URL where nothing listens. */
async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise((ok) => s.close(ok));
  return `http://127.0.0.1:${port}`;
}

const storage = (cacheDir: string, id = FIXTURE_ID): string => join(cacheDir, `models--${id.replace('/', '--')}`);
const content = (f: string, fx = fixture): Buffer => fx.files.get(f) as Buffer;
const onnxSha = (): string => sha256(content('onnx/model.onnx'));

function filesUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (lstatSync(p).isDirectory()) out.push(...filesUnder(p, `${prefix}${name}/`));
    else out.push(prefix + name);
  }
  return out.sort();
}

function assertSnapshot(dir: string, expected: readonly string[], fx = fixture): void {
  assert.deepEqual(filesUnder(dir), [...expected].sort());
  for (const f of expected) assert.deepEqual(readFileSync(join(dir, f)), content(f, fx), f);
}

test('a bare name downloads only the needed files into the huggingface_hub layout, and returns the snapshot', async () => {
  const o = opts();
  const dir = await resolveModel('msmarco-fixture-dot-v5', o);
  const st = storage(o.cacheDir);
  assert.equal(dir, join(st, 'snapshots', fixture.commit));
  assertSnapshot(dir, NEEDED_DEFAULT);
  for (const f of NEVER_FETCHED) assert.ok(!server.requests.some((r) => r.url.endsWith(`/${fixture.commit}/${f}`)), `${f} was asked for`);
  assert.equal(readFileSync(join(st, 'refs', 'main'), 'utf8'), fixture.commit);
  for (const f of NEEDED_DEFAULT) {
    const link = readlinkSync(join(dir, f));
    assert.equal(link, join(...Array(f.split('/').length + 1).fill('..'), 'blobs', expectedEtag(f, content(f))), f);
  }
  assert.deepEqual(readdirSync(join(st, 'blobs')).filter((b) => b.includes('.')), [], 'no .incomplete or temp files left');
  assert.equal(server.requests[0]?.url, `/api/models/${FIXTURE_ID}/revision/main`);
  const lfsHead = server.requests.find((r) => r.method === 'HEAD' && r.url.endsWith('/onnx/model.onnx'));
  assert.equal(lfsHead?.url, `/${FIXTURE_ID}/resolve/${fixture.commit}/onnx/model.onnx`);
});

test('a second call finds everything cached: one API request and no file request', async () => {
  const o = opts();
  await resolveModel(FIXTURE_ID, o);
  server.clearRequests();
  const dir = await resolveModel(FIXTURE_ID, o);
  assert.equal(server.requests.length, 1);
  assertSnapshot(dir, NEEDED_DEFAULT);
});

test('a tag resolves to its commit and gets a ref; a commit id is used directly and gets none', async () => {
  const o = opts({ revision: 'v1.0' });
  const dir = await resolveModel(FIXTURE_ID, o);
  assert.equal(dir, join(storage(o.cacheDir), 'snapshots', fixture.oldCommit));
  assert.match(readFileSync(join(dir, 'config.json'), 'utf8'), /"vocab_size": 10/);
  assert.equal(readFileSync(join(storage(o.cacheDir), 'refs', 'v1.0'), 'utf8'), fixture.oldCommit);
  const o2 = opts({ revision: fixture.commit });
  const dir2 = await resolveModel(FIXTURE_ID, o2);
  assert.ok(dir2.endsWith(fixture.commit));
  assert.equal(existsSync(join(storage(o2.cacheDir), 'refs')), false);
  await assert.rejects(resolveModel(FIXTURE_ID, opts({ revision: 'no-such-branch' })), (e) => isSemsearchError(e, 'HUB_NOT_FOUND'));
});

test('variants: the asked ONNX file and its external data; a missing variant names the available ones', async () => {
  const o = opts({ variant: 'O4' });
  const dir = await resolveModel(FIXTURE_ID, o);
  const expected = [...NEEDED_DEFAULT.filter((f) => f !== 'onnx/model.onnx'), 'onnx/model_O4.onnx', 'onnx/model_O4.onnx_data'];
  assertSnapshot(dir, expected);
  await assert.rejects(
    resolveModel(FIXTURE_ID, opts({ variant: 'qint8_avx512' })),
    (e) => isSemsearchError(e, 'HUB_NOT_FOUND') && /qint8_avx2/.test(e.message) && e.field === 'variant',
  );
});

test('LFS files come through the CDN redirect chain; the token goes to the hub only, never to the CDN', async () => {
  const o = opts({}, { HF_TOKEN: TOKEN });
  await resolveModel(FIXTURE_ID, o);
  const hub = server.requests.filter((r) => r.server === 'hub');
  const cdn = server.requests.filter((r) => r.server === 'cdn');
  assert.ok(hub.length > 0 && hub.every((r) => r.authorization === `Bearer ${TOKEN}`));
  assert.ok(cdn.some((r) => r.url.startsWith(`/hop/${onnxSha()}`)), 'the first CDN hop');
  assert.ok(cdn.some((r) => r.url.startsWith(`/repos/${onnxSha()}`)), 'the redirect inside the CDN');
  assert.ok(cdn.every((r) => r.authorization === undefined), 'no token to the CDN');
});

test('private repos: no token or a wrong one is HUB_UNAUTHORIZED with the fix; the token file under HF_HOME works', async () => {
  await assert.rejects(
    resolveModel('acme/private-model', opts()),
    (e) => isSemsearchError(e, 'HUB_UNAUTHORIZED') && e.message.includes('HF_TOKEN') && e.message.includes('401'),
  );
  await assert.rejects(
    resolveModel('acme/private-model', opts({ token: 'hf_wrong' })),
    (e) => isSemsearchError(e, 'HUB_UNAUTHORIZED') && e.message.includes('Invalid credentials'),
  );
  const home = mkdtempSync(join(root, 'home-'));
  writeFileSync(join(home, 'token'), `${TOKEN}\n`);
  const o = opts();
  const dir = await resolveModel('acme/private-model', { ...o, env: { ...o.env, HF_HOME: home } });
  assertSnapshot(dir, NEEDED_DEFAULT, privateFixture);
});

test('a repo that does not exist is HUB_NOT_FOUND (404) or HUB_UNAUTHORIZED (401 without a token)', async () => {
  await assert.rejects(resolveModel('acme/nothing-here', opts({ token: TOKEN })), (e) => isSemsearchError(e, 'HUB_NOT_FOUND'));
  await assert.rejects(resolveModel('acme/nothing-here', opts()), (e) => isSemsearchError(e, 'HUB_UNAUTHORIZED'));
});

test('injected 401 and 404 on a file are reported with the file and URL', async () => {
  server.addFault({ method: 'HEAD', pathIncludes: 'tokenizer.json', status: 404, headers: { 'x-error-code': 'EntryNotFound' } });
  await assert.rejects(
    resolveModel(FIXTURE_ID, opts()),
    (e) => isSemsearchError(e, 'HUB_NOT_FOUND') && e.message.includes('file tokenizer.json') && e.message.includes('/resolve/'),
  );
  server.clearFaults();
  server.addFault({ server: 'cdn', pathIncludes: onnxSha(), status: 403 });
  await assert.rejects(
    resolveModel(FIXTURE_ID, opts()),
    (e) =>
      isSemsearchError(e, 'HUB_UNAUTHORIZED') &&
      e.message.includes('file onnx/model.onnx') &&
      e.message.includes('signed download link') &&
      !e.message.includes('Signature'),
  );
});

test('429 and 5xx are retried with backoff (Retry-After honoured) until the hub answers', async () => {
  server.addFault({ pathIncludes: '/api/models/', status: 429, headers: { 'retry-after': '0' }, times: 2 });
  server.addFault({ method: 'HEAD', pathIncludes: 'config.json', status: 503, times: 1 });
  server.addFault({ server: 'cdn', pathIncludes: '/repos/', status: 500, times: 2 });
  const dir = await resolveModel(FIXTURE_ID, opts());
  assertSnapshot(dir, NEEDED_DEFAULT);
  assert.equal(server.requests.filter((r) => r.url.startsWith('/api/models/')).length, 3);
});

test('a hub that keeps failing gives HUB_HTTP_ERROR after the retries, naming the URL', async () => {
  server.addFault({ pathIncludes: '/api/models/', status: 500 });
  await assert.rejects(
    resolveModel(FIXTURE_ID, opts()),
    (e) => isSemsearchError(e, 'HUB_HTTP_ERROR') && e.message.includes('after 4 attempts') && e.message.includes('/api/models/'),
  );
  assert.equal(server.requests.length, 4);
});

test('a slow answer times out and is retried; one that never comes is HUB_NETWORK_ERROR', async () => {
  server.addFault({ method: 'HEAD', pathIncludes: 'vocab.txt', delayHeadersMs: 400, times: 1 });
  await resolveModel(FIXTURE_ID, opts({ network: { ...FAST, timeoutMs: 150 } }));
  assert.equal(server.requests.filter((r) => r.method === 'HEAD' && r.url.endsWith('vocab.txt')).length, 2);
  server.clearFaults();
  server.addFault({ pathIncludes: '/api/models/', delayHeadersMs: 300 });
  await assert.rejects(
    resolveModel(FIXTURE_ID, opts({ network: { ...FAST, timeoutMs: 100, retries: 1 } })),
    (e) => isSemsearchError(e, 'HUB_NETWORK_ERROR') && /did not answer within 0\.1 s/.test(e.message),
  );
});

test('an unreachable hub is HUB_NETWORK_ERROR that says how to work offline', async () => {
  const o = opts({ endpoint: await closedPortUrl(), network: { ...FAST, retries: 1 } });
  await assert.rejects(
    resolveModel(FIXTURE_ID, o),
    (e) => isSemsearchError(e, 'HUB_NETWORK_ERROR') && e.message.includes('ECONNREFUSED') && e.message.includes('HF_HUB_OFFLINE=1'),
  );
});

test('a truncated transfer is resumed with a Range request from where it stopped', async () => {
  server.addFault({ server: 'cdn', pathIncludes: `/repos/${onnxSha()}`, method: 'GET', truncateAfter: 30_000, times: 1 });
  const o = opts();
  const dir = await resolveModel(FIXTURE_ID, o);
  assertSnapshot(dir, NEEDED_DEFAULT);
  const gets = server.requests.filter((r) => r.server === 'cdn' && r.url.startsWith(`/repos/${onnxSha()}`));
  assert.equal(gets.length, 2);
  assert.equal(gets[0]?.range, undefined);
  assert.equal(gets[1]?.range, 'bytes=30000-');
});

test('a transfer that stalls is abandoned after the download timeout and resumed', async () => {
  server.addFault({ server: 'cdn', pathIncludes: `/repos/${onnxSha()}`, method: 'GET', stallAfter: 50_000, times: 1 });
  const dir = await resolveModel(FIXTURE_ID, opts({ network: { ...FAST, downloadTimeoutMs: 200 } }));
  assertSnapshot(dir, NEEDED_DEFAULT);
  const gets = server.requests.filter((r) => r.server === 'cdn' && r.url.startsWith(`/repos/${onnxSha()}`));
  assert.deepEqual(gets.map((r) => r.range), [undefined, 'bytes=50000-']);
});

test('a partial file left by an earlier run (or by Python) is resumed, not restarted', async () => {
  const o = opts();
  const blobs = join(storage(o.cacheDir), 'blobs');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(blobs, `${onnxSha()}.incomplete`), content('onnx/model.onnx').subarray(0, 12_345));
  const dir = await resolveModel(FIXTURE_ID, o);
  assertSnapshot(dir, NEEDED_DEFAULT);
  const gets = server.requests.filter((r) => r.server === 'cdn' && r.url.startsWith(`/repos/${onnxSha()}`));
  assert.deepEqual(gets.map((r) => r.range), ['bytes=12345-']);
});

test('bytes that do not match the sha256 ETag are HUB_HASH_MISMATCH, and nothing corrupt stays in the cache', async () => {
  server.addFault({ server: 'cdn', pathIncludes: `/repos/${onnxSha()}`, method: 'GET', corrupt: true });
  const o = opts();
  await assert.rejects(
    resolveModel(FIXTURE_ID, o),
    (e) => isSemsearchError(e, 'HUB_HASH_MISMATCH') && e.message.includes(onnxSha()) && e.message.includes('onnx/model.onnx'),
  );
  const blobs = readdirSync(join(storage(o.cacheDir), 'blobs'));
  assert.ok(!blobs.some((b) => b.startsWith(onnxSha())), blobs.join(' '));
  assert.equal(existsSync(join(storage(o.cacheDir), 'snapshots', fixture.commit, 'onnx', 'model.onnx')), false);
  // The next run, with the hub healthy again, gets the right bytes.
  server.clearFaults();
  assertSnapshot(await resolveModel(FIXTURE_ID, o), NEEDED_DEFAULT);
});

test('a renamed repo: the relative redirect is followed, with the token', async () => {
  server.renames.set('old-owner/msmarco-fixture-dot-v5', FIXTURE_ID);
  try {
    const o = opts({ token: TOKEN });
    const dir = await resolveModel('old-owner/msmarco-fixture-dot-v5', o);
    assertSnapshot(dir, NEEDED_DEFAULT);
    assert.ok(server.requests.some((r) => r.url.startsWith('/api/models/old-owner/') && r.authorization === `Bearer ${TOKEN}`));
  } finally {
    server.renames.clear();
  }
});

test('offline (HF_HUB_OFFLINE=1 or localFilesOnly): answered from the cache with no network call at all', async () => {
  const o = opts();
  const online = await resolveModel(FIXTURE_ID, o);
  await resolveModel(FIXTURE_ID, { ...o, revision: 'v1.0' });
  server.clearRequests();
  // An endpoint that would fail loudly, to be sure nothing even tries.
  const offEnv = { ...o.env, HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' };
  assert.equal(await resolveModel('msmarco-fixture-dot-v5', { ...o, env: offEnv }), online);
  assert.equal(await resolveModel(FIXTURE_ID, { ...o, localFilesOnly: true }), online);
  assert.ok((await resolveModel(FIXTURE_ID, { ...o, localFilesOnly: true, revision: 'v1.0' })).endsWith(fixture.oldCommit));
  assert.ok((await resolveModel(FIXTURE_ID, { ...o, localFilesOnly: true, revision: fixture.commit })).endsWith(fixture.commit));
  assert.equal(server.requests.length, 0);
});

test('offline with a file missing: HUB_OFFLINE_MISSING names the file and how to get it, still with no network call', async () => {
  const o = opts();
  await resolveModel(FIXTURE_ID, o);
  server.clearRequests();
  await assert.rejects(
    resolveModel(FIXTURE_ID, { ...o, variant: 'qint8_avx2', env: { ...o.env, HF_HUB_OFFLINE: '1' } }),
    (e) =>
      isSemsearchError(e, 'HUB_OFFLINE_MISSING') &&
      e.file === 'onnx/model_qint8_avx2.onnx' &&
      e.message.includes('onnx/model_qint8_avx2.onnx') &&
      e.message.includes('HF_HUB_OFFLINE') &&
      e.message.includes(`hf download ${FIXTURE_ID} onnx/model_qint8_avx2.onnx`),
  );
  await assert.rejects(
    resolveModel('acme/never-downloaded', { ...o, localFilesOnly: true }),
    (e) => isSemsearchError(e, 'HUB_OFFLINE_MISSING') && e.message.includes("no copy of acme/never-downloaded at revision 'main'") && e.message.includes('localFilesOnly'),
  );
  await assert.rejects(resolveModel(FIXTURE_ID, { ...o, localFilesOnly: true, revision: 'v2' }), (e) => isSemsearchError(e, 'HUB_OFFLINE_MISSING'));
  assert.equal(server.requests.length, 0);
});

test('with the hub down, a complete cached copy is used, as huggingface_hub does', async () => {
  const o = opts();
  const dir = await resolveModel(FIXTURE_ID, o);
  server.addFault({ status: 503 });
  assert.equal(await resolveModel(FIXTURE_ID, o), dir);
});

test('a local folder is returned as is, without touching the network', async () => {
  assert.equal(await resolveModel(fixture.dir, opts()), fixture.dir);
  assert.equal(server.requests.length, 0);
});

test('progress events: bytes grow to the total of the files fetched', async () => {
  const events: DownloadProgress[] = [];
  await resolveModel(FIXTURE_ID, opts({ onProgress: (p) => events.push({ ...p }) }));
  const last = events.at(-1) as DownloadProgress;
  const total = NEEDED_DEFAULT.filter((f) => f !== 'modules.json').reduce((s, f) => s + content(f).length, 0);
  assert.equal(last.totalBytes, total);
  assert.equal(last.downloadedBytes, total);
  assert.equal(last.filesDone, last.filesTotal);
  assert.ok(events.some((e) => e.file === 'onnx/model.onnx'));
  for (let i = 1; i < events.length; i++) {
    assert.ok((events[i] as DownloadProgress).downloadedBytes >= (events[i - 1] as DownloadProgress).downloadedBytes, 'never goes back');
  }
});

test("variant 'int8' downloads only the quantized file accurate on the CPU, and finds it again offline", async () => {
  for (const [isa, want] of [
    ['avx2', 'quint8_avx2'],
    ['avx512_vnni', 'qint8_avx512_vnni'],
  ] as const) {
    const cpu = detectCpu({ env: { SEMSEARCH_CPU_ISA: isa } });
    const o = opts({ variant: 'int8', cpu });
    const dir = await resolveModel('acme/quantized', o);
    const onnx = readdirSync(join(dir, 'onnx')).sort();
    assert.deepEqual(onnx, [`model_${want}.onnx`], `${isa}: ${onnx}`);
    assert.equal(readFileSync(join(dir, 'onnx', `model_${want}.onnx`), 'utf8'), `int8 ${want}\n`);
    server.clearRequests();
    assert.equal(await resolveModel('acme/quantized', { ...o, localFilesOnly: true }), dir);
    assert.equal(server.requests.length, 0);
  }
  // A cache holding only the VNNI file cannot serve 'int8' to an AVX2 CPU offline: it names the file it lacks.
  const o = opts({ variant: 'int8', cpu: detectCpu({ env: { SEMSEARCH_CPU_ISA: 'avx512_vnni' } }) });
  await resolveModel('acme/quantized', o);
  await assert.rejects(
    resolveModel('acme/quantized', { ...o, localFilesOnly: true, cpu: detectCpu({ env: { SEMSEARCH_CPU_ISA: 'avx2' } }) }),
    (e) => isSemsearchError(e, 'HUB_OFFLINE_MISSING') && e.message.includes('onnx/model_quint8_avx2.onnx'),
  );
});

test('a hub host that does not resolve fails at once (no retries against DNS), and says a local folder works', async () => {
  const t = performance.now();
  await assert.rejects(
    resolveModel('sentence-transformers/msmarco-MiniLM-L6-cos-v5', {
      cacheDir: mkdtempSync(join(root, 'cache-')),
      env: { HF_HOME: join(root, 'no-home') },
      endpoint: 'http://hub.does-not-exist.invalid',
      network: { timeoutMs: 5000, retries: 5, retryBaseMs: 1000, retryMaxMs: 8000 },
    }),
    (e) =>
      isSemsearchError(e, 'HUB_NETWORK_ERROR') &&
      /ENOTFOUND: the host name does not resolve/.test(e.message) &&
      /pass a local model folder/.test(e.message) &&
      !/after \d+ attempts/.test(e.message),
  );
  assert.ok(performance.now() - t < 900, `took ${(performance.now() - t).toFixed(0)} ms; a retry would wait 1 s first`);
});
