import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
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

/**
 * How long an empty lock file is given before it is judged abandoned. This code never leaves one (create() links a
 * whole file), so an empty lock is a holder killed between creating and filling it under the older code, or one
 * doing so now; filling takes microseconds, so a second is ample.
 */
const EMPTY_LOCK_GRACE_MS = 1000;

async function isStale(path: string, staleMs: number): Promise<boolean> {
  const owner = await readOwner(path);
  if (owner !== undefined && owner.host === hostname() && !pidAlive(owner.pid)) return true;
  try {
    const st = await fs.stat(path);
    const age = Date.now() - st.mtimeMs;
    return age > staleMs || (st.size === 0 && age > EMPTY_LOCK_GRACE_MS);
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

/**
 * The lock file, created whole or not at all: the owner is written to a file of its own, then hard-linked to the
 * lock's name (link fails with EEXIST where the lock exists, as O_EXCL does). Creating the lock and then writing
 * into it would leave an empty lock when the process is killed between the two, and nobody could tell whose it was
 * until it went stale. Where hard links are not supported, the lock is created and then written, as before.
 */
async function create(path: string, me: Owner): Promise<boolean> {
  const own = `${path}.${me.pid}-${me.id}.tmp`;
  try {
    await fs.writeFile(own, JSON.stringify(me), { flag: 'wx' });
  } catch (e) {
    // A full disk may take the file but not its bytes.
    await fs.rm(own, { force: true });
    throw e;
  }
  try {
    await fs.link(own, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    return createInPlace(path, me);
  } finally {
    await fs.rm(own, { force: true });
  }
}

async function createInPlace(path: string, me: Owner): Promise<boolean> {
  let handle;
  try {
    handle = await fs.open(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    await handle.writeFile(JSON.stringify(me));
  } catch (e) {
    // A full disk takes the file but not its bytes: an empty lock would stop every writer until it went stale.
    await handle.close();
    await fs.rm(path, { force: true });
    throw e;
  }
  await handle.close();
  return true;
}

/** Owner files (`<lock>.<pid>-<id>.tmp`) that processes of this host killed between writing and linking left behind. */
async function sweepOrphans(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = await fs.readdir(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (m !== null && !pidAlive(Number(m[1]))) await fs.rm(join(dirname(path), name), { force: true });
  }
}

/** One try at the lock: taken (a stale holder is displaced first), or held by someone alive. */
async function attempt(path: string, me: Owner, staleMs: number): Promise<Attempt> {
  for (;;) {
    if (await create(path, me)) {
      await sweepOrphans(path);
      return { release: holding(path, me, staleMs) };
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
