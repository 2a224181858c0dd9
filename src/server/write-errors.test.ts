// Writes over HTTP that fail for a reason outside the request's shape: a full disk (a real 2 MiB tmpfs), a read-only
// folder (a read-only bind mount: root ignores chmod), too many metadata fields. Each is a status and a code a client
// can act on, never a bare 500, and the server goes on answering searches from the last commit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFromDir } from '../encoder/load-model.js';
import { cleanBuild, passageMeta, passageText, type Content } from '../store/test-support/living.js';
import { createServer, type SemsearchServer } from './server.js';
import { BERT, postJson } from './test-support/fixture.js';

const ALARM = /damaged|rebuild|unexpected/i;

function canMount(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs and a read-only bind mount';
  const probe = mkdtempSync(join(tmpdir(), 'semsearch-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe]);
    return false;
  } catch {
    return 'mount is not permitted here';
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const MOUNTS = { skip: canMount() };

function docs(n: number, from = 1000): { id: string; text: string }[] {
  return Array.from({ length: n }, (_, i) => ({ id: `n${from + i}`, text: passageText(from + i) }));
}

async function search(url: string): Promise<unknown> {
  const r = await postJson(`${url}/search`, { queries: ['london bridge history', 'coffee and bread recipe'], k: 5 });
  assert.equal(r.status, 200, r.text);
  return (r.json.results as { hits: unknown[] }[]).map((q) => q.hits);
}

function errorOf(r: { json: Record<string, unknown> }): { code: string; message: string } {
  return r.json.error as { code: string; message: string };
}

describe('semsearch serve: write errors', () => {
  let tmp: string;
  let built: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'semsearch-serve-write-errors-'));
    const model = await loadModelFromDir(BERT);
    const content = new Map<string, Content>();
    for (let i = 0; i < 60; i++) content.set(`p${i}`, { text: passageText(i), metadata: passageMeta(i) });
    built = await cleanBuild(tmp, 'base', content, model, BERT);
    await model.dispose();
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('POST /documents naming 3,000 new metadata fields is 413 TOO_MANY_FIELDS at once, before it is queued; nothing changes', async () => {
    const dir = join(tmp, 'fields');
    cpSync(built, dir, { recursive: true });
    const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
    const server = await createServer({ index: dir, log: () => undefined });
    try {
      const metadata = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`field${i}`, i]));
      const t = performance.now();
      const r = await postJson(`${server.url}/documents`, { documents: [{ id: 'wide', text: 'a passage', metadata }] });
      const ms = performance.now() - t;
      assert.equal(r.status, 413, r.text);
      assert.equal(errorOf(r).code, 'TOO_MANY_FIELDS');
      assert.match(errorOf(r).message, /name 3000 metadata fields; an index holds at most 256/);
      assert.ok(ms < 1000, `answered in ${ms.toFixed(0)} ms`);
      // Under the request cap but past the index's: refused by the writer, also before anything is written.
      const some = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`a${i}`, i]));
      assert.equal((await postJson(`${server.url}/documents`, { documents: [{ id: 'w1', text: 'a passage', metadata: some }] })).status, 200);
      const more = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`b${i}`, i]));
      const over = await postJson(`${server.url}/documents`, { documents: [{ id: 'w2', text: 'a passage', metadata: more }] });
      assert.equal(over.status, 413, over.text);
      assert.equal(errorOf(over).code, 'TOO_MANY_FIELDS');
      assert.notEqual(readFileSync(join(dir, 'manifest.json'), 'utf8'), manifest);
      assert.equal(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).generation, 1);
    } finally {
      await server.close();
    }
  });

  test('a full disk: POST /documents and DELETE /documents/{id} are 507 DISK_FULL; searches answer as before; once there is room the write goes through', MOUNTS, async () => {
    const mnt = join(tmp, 'small-disk');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    let server: SemsearchServer | undefined;
    try {
      const dir = join(mnt, 'idx');
      cpSync(built, dir, { recursive: true });
      server = await createServer({ index: dir, log: () => undefined });
      const before = await search(server.url);
      const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
      const s = statfsSync(mnt);
      const filler = join(mnt, 'filler');
      writeFileSync(filler, Buffer.alloc(s.bavail * s.bsize - 24 * 1024));
      for (let i = 0; i < 2; i++) {
        const w = await postJson(`${server.url}/documents`, { documents: docs(64, 1000 + 64 * i) });
        assert.equal(w.status, 507, w.text);
        assert.equal(errorOf(w).code, 'DISK_FULL');
        assert.doesNotMatch(errorOf(w).message, ALARM);
      }
      const full = join(mnt, 'filler-2');
      const left = statfsSync(mnt);
      writeFileSync(full, Buffer.alloc(left.bavail * left.bsize));
      const d = await fetch(`${server.url}/documents/p1`, { method: 'DELETE' });
      const dj = (await d.json()) as { error: { code: string } };
      assert.equal(d.status, 507, JSON.stringify(dj));
      assert.equal(dj.error.code, 'DISK_FULL');
      rmSync(full);
      assert.equal(readFileSync(join(dir, 'manifest.json'), 'utf8'), manifest);
      assert.deepEqual(await search(server.url), before);
      rmSync(filler);
      const ok = await postJson(`${server.url}/documents`, { documents: docs(64) });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.live, 124);
    } finally {
      await server?.close();
      execFileSync('umount', ['-l', mnt]);
    }
  });

  test('a read-only folder: POST /documents and DELETE /documents/{id} are 409 INDEX_READ_ONLY; searches answer as before', MOUNTS, async () => {
    const src = join(tmp, 'ro-src');
    mkdirSync(src);
    cpSync(built, join(src, 'idx'), { recursive: true });
    const mnt = join(tmp, 'ro-mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['--bind', src, mnt]);
    let server: SemsearchServer | undefined;
    try {
      execFileSync('mount', ['-o', 'remount,bind,ro', mnt]);
      server = await createServer({ index: join(mnt, 'idx'), log: () => undefined });
      const before = await search(server.url);
      const w = await postJson(`${server.url}/documents`, { documents: docs(2) });
      assert.equal(w.status, 409, w.text);
      assert.equal(errorOf(w).code, 'INDEX_READ_ONLY');
      assert.doesNotMatch(errorOf(w).message, ALARM);
      const d = await fetch(`${server.url}/documents/p1`, { method: 'DELETE' });
      assert.equal(d.status, 409);
      assert.equal(((await d.json()) as { error: { code: string } }).error.code, 'INDEX_READ_ONLY');
      assert.deepEqual(await search(server.url), before);
    } finally {
      await server?.close();
      execFileSync('umount', ['-l', mnt]);
    }
  });
});
