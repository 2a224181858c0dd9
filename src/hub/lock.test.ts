import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireLock, withLock } from './lock.js';

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
