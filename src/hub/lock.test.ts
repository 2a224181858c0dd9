import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireLock, tryAcquireLock, withLock } from './lock.js';

const root = mkdtempSync(join(tmpdir(), 'semsearch-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));

function lockFile(): string {
  return join(mkdtempSync(join(root, 'l-')), 'sub', 'x.semsearch.lock');
}

test('holders of the same lock run one at a time, and the file is gone afterwards', async () => {
  const path = lockFile();
  const log: string[] = [];
  const job = (name: string) =>
    withLock(
      path,
      async () => {
        log.push(`${name}+`);
        await sleep(30);
        log.push(`${name}-`);
      },
      { pollMs: 5 },
    );
  await Promise.all([job('a'), job('b'), job('c')]);
  for (let i = 0; i < log.length; i += 2) assert.equal(log[i]?.slice(0, 1), log[i + 1]?.slice(0, 1), log.join(' '));
  assert.equal(existsSync(path), false);
});

test('the lock names its holder: pid and host', async () => {
  const path = lockFile();
  const release = await acquireLock(path);
  const owner = JSON.parse(readFileSync(path, 'utf8')) as { pid: number; host: string };
  assert.equal(owner.pid, process.pid);
  assert.equal(owner.host, hostname());
  await release();
});

test('a lock left by a process that died is taken over at once', async () => {
  const path = lockFile();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const pid = Number(dead.stdout.toString());
  const release0 = await acquireLock(path);
  await release0();
  writeFileSync(path, JSON.stringify({ pid, host: hostname(), id: 'dead' }));
  const t0 = Date.now();
  const release = await acquireLock(path, { pollMs: 5, staleMs: 60_000 });
  assert.ok(Date.now() - t0 < 1000);
  assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { pid: number }).pid, process.pid);
  await release();
});

test('a lock nobody has touched for staleMs is taken over (holder on another host, or hung)', async () => {
  const path = lockFile();
  const release0 = await acquireLock(path);
  await release0();
  writeFileSync(path, JSON.stringify({ pid: 1, host: 'another-host', id: 'far' }));
  const old = new Date(Date.now() - 10_000);
  utimesSync(path, old, old);
  const release = await acquireLock(path, { pollMs: 5, staleMs: 2000 });
  await release();
});

test('a live holder keeps its lock fresh, so waiters keep waiting', async () => {
  const path = lockFile();
  const release = await acquireLock(path, { staleMs: 150 });
  let got = false;
  const waiter = acquireLock(path, { pollMs: 10, staleMs: 150 }).then((r) => {
    got = true;
    return r;
  });
  await sleep(500);
  assert.equal(got, false, 'the heartbeat kept the lock from looking stale');
  await release();
  await (await waiter)();
});

test('an empty lock (a holder killed between creating and filling it) is taken over after a second, not after staleMs', async () => {
  const path = lockFile();
  const release0 = await acquireLock(path);
  await release0();
  writeFileSync(path, '');
  const old = new Date(Date.now() - 2000);
  utimesSync(path, old, old);
  const got = await tryAcquireLock(path, { staleMs: 60_000 });
  assert.ok('release' in got, 'the empty lock still blocked the writer');
  assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { pid: number }).pid, process.pid);
  await got.release();
  // A fresh empty lock may be a holder filling it this very moment: it is respected.
  writeFileSync(path, '');
  const fresh = await tryAcquireLock(path, { staleMs: 60_000 });
  assert.ok(!('release' in fresh));
});

test('the lock appears whole: its owner file is linked into place, and owner files of killed processes are swept', async () => {
  const path = lockFile();
  const release0 = await acquireLock(path);
  await release0();
  const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
  const orphan = `${path}.${dead}-00ff00ff00ff00ff.tmp`;
  writeFileSync(orphan, JSON.stringify({ pid: dead, host: hostname(), id: '00ff00ff00ff00ff' }));
  const release = await acquireLock(path);
  assert.equal(existsSync(orphan), false, 'a dead process left its owner file');
  assert.deepEqual(readdirSync(dirname(path)), [basename(path)], 'only the lock itself is in its folder while held');
  await release();
  assert.deepEqual(readdirSync(dirname(path)), []);
});
