import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A lock file shared by every semsearch process on the machine (and on other machines sharing the cache over NFS):
 * created with O_EXCL, so exactly one process downloads a blob while the others wait and then reuse it.
 *
 * Node has no flock, so a crashed holder cannot release the lock itself. The holder writes its pid and host and
 * touches the file every few seconds; a waiter takes the lock over when the holder's pid is gone (same host) or the
 * file has not been touched for `staleMs` (another host, or a hung process).
 */
export interface LockOptions {
  pollMs?: number;
  staleMs?: number;
}

export type Release = () => Promise<void>;

interface Owner {
  pid: number;
  host: string;
  id: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const o = JSON.parse(await fs.readFile(path, 'utf8')) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.id === 'string' ? (o as Owner) : undefined;
  } catch {
    return undefined;
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  const owner = await readOwner(path);
  if (owner !== undefined && owner.host === hostname() && !pidAlive(owner.pid)) return true;
  try {
    const st = await fs.stat(path);
    return Date.now() - st.mtimeMs > staleMs;
  } catch {
    // Gone already: not stale, just free; the next attempt to create it will tell.
    return false;
  }
}

/** The process holding a lock, as it wrote itself into the lock file. */
export interface LockOwner {
  pid: number;
  host: string;
}

type Attempt = { release: Release } | { owner: LockOwner | undefined };

/** One try at the lock: taken (a stale holder is displaced first), or held by someone alive. */
async function attempt(path: string, me: Owner, staleMs: number): Promise<Attempt> {
  for (;;) {
    try {
      const handle = await fs.open(path, 'wx');
      try {
        await handle.writeFile(JSON.stringify(me));
      } catch (e) {
        // A full disk takes the file but not its bytes: an empty lock would stop every writer until it went stale.
        await handle.close();
        await fs.rm(path, { force: true });
        throw e;
      }
      await handle.close();
      return { release: holding(path, me, staleMs) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (!(await isStale(path, staleMs))) {
      const o = await readOwner(path);
      return { owner: o === undefined ? undefined : { pid: o.pid, host: o.host } };
    }
    // Rename first so that of two waiters breaking the same stale lock, only one removes it.
    const grave = `${path}.stale-${me.id}`;
    try {
      await fs.rename(path, grave);
      await fs.rm(grave, { force: true });
    } catch {
      // Someone else broke it first.
    }
  }
}

/** Keep a taken lock fresh, and the function that gives it back. */
function holding(path: string, me: Owner, staleMs: number): Release {
  const heartbeat = setInterval(() => {
    const now = new Date();
    fs.utimes(path, now, now).catch(() => undefined);
  }, Math.max(50, Math.floor(staleMs / 3)));
  heartbeat.unref();
  return async () => {
    clearInterval(heartbeat);
    const owner = await readOwner(path);
    // A waiter may have judged us stale (we were paused longer than staleMs) and taken over: leave its lock alone.
    if (owner?.id === me.id) await fs.rm(path, { force: true });
  };
}

function newOwner(): Owner {
  return { pid: process.pid, host: hostname(), id: randomBytes(8).toString('hex') };
}

export async function acquireLock(path: string, options: LockOptions = {}): Promise<Release> {
  const pollMs = options.pollMs ?? 100;
  const staleMs = options.staleMs ?? 30_000;
  const me = newOwner();
  await fs.mkdir(dirname(path), { recursive: true });
  for (;;) {
    const a = await attempt(path, me, staleMs);
    if ('release' in a) return a.release;
    await sleep(pollMs);
  }
}

/** The lock if it is free (or its holder is gone), else who holds it: for work that must not wait, such as a writer. */
export async function tryAcquireLock(path: string, options: LockOptions = {}): Promise<Attempt> {
  await fs.mkdir(dirname(path), { recursive: true });
  return attempt(path, newOwner(), options.staleMs ?? 30_000);
}

export async function withLock<T>(path: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> {
  const release = await acquireLock(path, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}
