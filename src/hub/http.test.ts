import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { backoffMs, displayUrl, hubRequest, sameHost, type HttpSettings } from './http.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const seen: { server: string; url: string; auth: string | undefined }[] = [];
let hubHandler: Handler = (_req, res) => res.end('ok');
let hub: Server;
let other: Server;
let hubUrl = '';
let otherUrl = '';

async function listen(s: Server): Promise<string> {
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

before(async () => {
  hub = createServer((req, res) => {
    seen.push({ server: 'hub', url: req.url ?? '', auth: req.headers.authorization });
    hubHandler(req, res);
  });
  other = createServer((req, res) => {
    seen.push({ server: 'other', url: req.url ?? '', auth: req.headers.authorization });
    res.end('from elsewhere');
  });
  hubUrl = await listen(hub);
  otherUrl = await listen(other);
});
after(async () => {
  for (const s of [hub, other]) {
    s.closeAllConnections();
    await new Promise((ok) => s.close(ok));
  }
});

const settings = (): HttpSettings => ({ endpoint: hubUrl, token: 'hf_secret', timeoutMs: 1000, retries: 2, retryBaseMs: 5, retryMaxMs: 20 });

test('backoff doubles from the base delay up to the cap', () => {
  const s = { retryBaseMs: 1000, retryMaxMs: 8000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((a) => backoffMs(a, s)), [1000, 2000, 4000, 8000, 8000, 8000]);
});

test('URLs in messages lose their query, where CDN signatures live', () => {
  assert.equal(displayUrl('https://cdn.example/x/abc?X-Amz-Signature=secret&y=1'), 'https://cdn.example/x/abc');
  assert.ok(sameHost('http://127.0.0.1:1/a', 'http://127.0.0.1:1/b'));
  assert.ok(!sameHost('http://127.0.0.1:1/a', 'http://127.0.0.1:2/a'));
  assert.ok(!sameHost('http://h/a', 'https://h/a'));
});

test('a redirect to another host is followed without the token', async () => {
  seen.length = 0;
  hubHandler = (_req, res) => res.writeHead(302, { location: `${otherUrl}/blob?sig=1` }).end();
  const { response, url } = await hubRequest(`${hubUrl}/file`, settings(), { redirects: 'all', what: 'test' });
  assert.equal(await response.text(), 'from elsewhere');
  assert.equal(url, `${otherUrl}/blob?sig=1`);
  assert.deepEqual(seen, [
    { server: 'hub', url: '/file', auth: 'Bearer hf_secret' },
    { server: 'other', url: '/blob?sig=1', auth: undefined },
  ]);
});

test("'relative' mode stops at a cross-host redirect and hands it back, as huggingface_hub's HEAD does", async () => {
  seen.length = 0;
  let n = 0;
  hubHandler = (_req, res) => {
    n++;
    if (n === 1) res.writeHead(307, { location: '/renamed/file' }).end();
    else res.writeHead(302, { location: `${otherUrl}/blob` }).end();
  };
  const { response, url } = await hubRequest(`${hubUrl}/file`, settings(), { method: 'HEAD', redirects: 'relative', what: 'test' });
  assert.equal(response.status, 302);
  assert.equal(url, `${hubUrl}/renamed/file`);
  assert.equal(response.headers.get('location'), `${otherUrl}/blob`);
  assert.deepEqual(seen.map((s) => s.server), ['hub', 'hub']);
});

test('Retry-After on a 429 is waited for, even when the backoff would be shorter', async () => {
  let n = 0;
  hubHandler = (_req, res) => {
    n++;
    if (n === 1) res.writeHead(429, { 'retry-after': '1' }).end();
    else res.end('ok');
  };
  const t0 = Date.now();
  const { response } = await hubRequest(`${hubUrl}/api`, settings(), { redirects: 'all', what: 'test' });
  assert.equal(await response.text(), 'ok');
  assert.ok(Date.now() - t0 >= 950, `${Date.now() - t0} ms`);
});

test('statuses the caller handles are passed through unretried', async () => {
  let n = 0;
  hubHandler = (_req, res) => {
    n++;
    res.writeHead(416).end();
  };
  const { response } = await hubRequest(`${hubUrl}/x`, settings(), { redirects: 'all', what: 'test', passStatuses: [416] });
  assert.equal(response.status, 416);
  assert.equal(n, 1);
});
