// Protecting writes (issue 29): a bearer token for POST /documents and DELETE /documents/{id}, read routes open, and
// no server that exposes open writes beyond loopback unless told to.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '../cli/test-support/run-cli.js';
import { loadModelFromDir } from '../encoder/load-model.js';
import { isSemsearchError } from '../errors.js';
import { cleanBuild, passageText, type Content } from '../store/test-support/living.js';
import { bearerChecker, isLoopback } from './auth.js';
import { createServer, type SemsearchServer } from './server.js';
import { BERT, postJson } from './test-support/fixture.js';

const TOKEN = 'k3Y-0f_th1s.s3rver~abcdef0123456789';

describe('semsearch serve: the write token', () => {
  let tmp: string;
  let dir: string;
  let server: SemsearchServer;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'semsearch-serve-auth-'));
    const model = await loadModelFromDir(BERT);
    const content = new Map<string, Content>();
    for (let i = 0; i < 20; i++) content.set(`p${i}`, { text: passageText(i) });
    dir = await cleanBuild(tmp, 'auth', content, model, BERT);
    await model.dispose();
    server = await createServer({ index: dir, token: TOKEN, log: () => undefined });
  });
  after(async () => {
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('writes without the token, or with another, are 401 UNAUTHORIZED with a Bearer challenge and change nothing; with it they work; reads need none', async () => {
    const body = { documents: [{ id: 'new', text: 'a passage about the harbour castle' }] };
    const wrongs: [Record<string, string>, string][] = [
      [{}, 'Bearer realm="semsearch"'],
      [{ Authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` }, 'Bearer realm="semsearch"'],
      [{ Authorization: 'Bearer' }, 'Bearer realm="semsearch"'],
      [{ Authorization: `Bearer ${TOKEN.slice(0, -1)}x` }, 'Bearer realm="semsearch", error="invalid_token"'],
      [{ Authorization: `Bearer ${TOKEN}${TOKEN}` }, 'Bearer realm="semsearch", error="invalid_token"'],
      [{ Authorization: 'Bearer x' }, 'Bearer realm="semsearch", error="invalid_token"'],
    ];
    for (const [headers, challenge] of wrongs) {
      const r = await postJson(`${server.url}/documents`, body, headers);
      assert.equal(r.status, 401, `${JSON.stringify(headers)}: ${r.text}`);
      assert.equal(r.headers.get('www-authenticate'), challenge);
      assert.equal((r.json.error as { code: string }).code, 'UNAUTHORIZED');
      assert.doesNotMatch(r.text, new RegExp(TOKEN));
      const d = await fetch(`${server.url}/documents/p1`, { method: 'DELETE', headers });
      assert.equal(d.status, 401);
      assert.equal(d.headers.get('www-authenticate'), challenge);
    }
    // Refused before the body is read: not even a body that is not JSON gets as far as a parse error.
    const early = await postJson(`${server.url}/documents`, '{not json');
    assert.equal(early.status, 401, early.text);

    assert.equal((await postJson(`${server.url}/search`, { query: 'harbour castle', k: 3 })).status, 200);
    assert.equal((await fetch(`${server.url}/info`)).status, 200);
    assert.equal((await postJson(`${server.url}/encode`, { texts: ['x'] })).status, 200);
    const nothing = await postJson(`${server.url}/search`, { query: 'a passage about the harbour castle', k: 1 });
    assert.notEqual((nothing.json.results as { hits: { id: string }[] }[])[0]?.hits[0]?.id, 'new');

    const ok = await postJson(`${server.url}/documents`, body, { Authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200, ok.text);
    const del = await fetch(`${server.url}/documents/p1`, { method: 'DELETE', headers: { Authorization: `bearer ${TOKEN}` } });
    assert.equal(del.status, 200);
  });

  test('a browser may send the token: the CORS preflight allows the Authorization header', async () => {
    const cors = await createServer({ index: dir, token: TOKEN, corsOrigins: ['https://app.example'], log: () => undefined });
    try {
      const pre = await fetch(`${cors.url}/documents`, { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Headers': 'authorization, content-type' } });
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    } finally {
      await cors.close();
    }
  });

  test('createServer refuses open writes on an address other machines can reach: UNPROTECTED_WRITES naming the three ways out', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'my-host.example']) {
      await assert.rejects(createServer({ index: dir, host, log: () => undefined }), (e) => {
        assert.ok(isSemsearchError(e, 'UNPROTECTED_WRITES'), String(e));
        assert.equal(e.field, 'host');
        for (const way of ['--token-file', 'SEMSEARCH_TOKEN', '--read-only', '--insecure-writes']) assert.ok(e.message.includes(way), `${host}: names ${way}: ${e.message}`);
        return true;
      });
    }
    // Each way out starts it.
    for (const extra of [{ token: TOKEN }, { readOnly: true }, { insecureWrites: true }]) {
      const s = await createServer({ index: dir, host: '0.0.0.0', ...extra, log: () => undefined });
      await s.close();
    }
    // Loopback needs none of them.
    const local = await createServer({ index: dir, host: '127.0.0.2', log: () => undefined });
    await local.close();
    await assert.rejects(createServer({ index: dir, token: 'short', log: () => undefined }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'token');
    await assert.rejects(createServer({ index: dir, token: `${TOKEN} with spaces`, log: () => undefined }), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'token');
  });

  test('semsearch serve: --host 0.0.0.0 without a token stops before listening; a token file or SEMSEARCH_TOKEN that is unusable is a coded error', async () => {
    const open = await runCaptured(['serve', dir, '--host', '0.0.0.0', '--port', '0']);
    assert.equal(open.code, 1);
    assert.match(open.err, /^semsearch serve: UNPROTECTED_WRITES: serving on 0\.0\.0\.0 would let any machine .*--token-file.*--read-only.*--insecure-writes/);
    const missing = await runCaptured(['serve', dir, '--host', '0.0.0.0', '--token-file', join(tmp, 'no-such-token')]);
    assert.match(missing.err, /FILE_NOT_FOUND: cannot read the token file/);
    const short = join(tmp, 'short-token');
    writeFileSync(short, 'abc\n');
    const weak = await runCaptured(['serve', dir, '--token-file', short]);
    assert.equal(weak.code, 2);
    assert.match(weak.err, /INVALID_ARGUMENT: the token in .* has 3 characters; a token needs at least 16/);
    const empty = await runCaptured(['serve', dir, '--host', '0.0.0.0'], { env: { SEMSEARCH_TOKEN: '' } });
    assert.match(empty.err, /INVALID_ARGUMENT: SEMSEARCH_TOKEN must be .* it is empty/);
  });
});

test('isLoopback and the token check', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.10', '::ffff:10.0.0.1', 'example.com', '128.0.0.1', '127.0.0.1.example']) assert.ok(!isLoopback(h), h);
  const check = bearerChecker(TOKEN);
  assert.equal(check(`Bearer ${TOKEN}`), 'ok');
  assert.equal(check(`  BEARER   ${TOKEN} `), 'ok');
  assert.equal(check(undefined), 'missing');
  assert.equal(check(`Token ${TOKEN}`), 'missing');
  assert.equal(check(`Bearer ${TOKEN} extra`), 'missing');
  assert.equal(check(`Bearer ${TOKEN.toUpperCase()}`), 'wrong');
});
