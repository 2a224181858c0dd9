import { promises as fs } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SemsearchError } from '../errors.js';
import { isCommitHash } from './names.js';

/**
 * huggingface_hub's cache layout, byte for byte, so Python and semsearch read each other's downloads:
 *
 *   <cacheDir>/models--owner--name/
 *     blobs/<etag>                      file contents, named by git sha1 (small files) or sha256 (LFS files)
 *     blobs/<etag>.incomplete           a download in progress; resumed by whichever library comes next
 *     snapshots/<commit>/<path>         relative symlinks into blobs/ (copies where symlinks are not allowed)
 *     refs/<revision>                   the commit a branch or tag pointed to, no trailing newline
 *   <cacheDir>/.locks/models--owner--name/<etag>.lock   huggingface_hub's flock file (semsearch uses its own name)
 */
export interface RepoCache {
  cacheDir: string;
  repoId: string;
  /** models--owner--name */
  folderName: string;
  storage: string;
}

export function repoCache(cacheDir: string, repoId: string): RepoCache {
  const folderName = ['models', ...repoId.split('/')].join('--');
  return { cacheDir, repoId, folderName, storage: join(cacheDir, folderName) };
}

export function blobPath(cache: RepoCache, etag: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(etag) || etag.startsWith('.')) {
    throw new SemsearchError('HUB_HTTP_ERROR', `the hub sent an ETag '${etag}' that cannot name a cache file`, { field: 'ETag' });
  }
  return join(cache.storage, 'blobs', etag);
}

export function snapshotDir(cache: RepoCache, commit: string): string {
  return join(cache.storage, 'snapshots', commit);
}

/** Where a repo file appears in a snapshot; refuses names that would land outside it (a hostile file listing). */
export function pointerPath(cache: RepoCache, commit: string, filename: string): string {
  const root = snapshotDir(cache, commit);
  const p = resolve(root, ...filename.split('/'));
  if (!p.startsWith(resolve(root) + sep)) {
    throw new SemsearchError('HUB_HTTP_ERROR', `the hub listed a file '${filename}' outside the repository`, { file: filename });
  }
  return p;
}

export function lockPath(cache: RepoCache, etag: string): string {
  // Not huggingface_hub's `<etag>.lock`: that one is an flock file Python leaves behind, and Node has no flock, so
  // sharing the name would make semsearch wait on a lock nobody holds.
  return join(cache.cacheDir, '.locks', cache.folderName, `${etag}.semsearch.lock`);
}

function refPath(cache: RepoCache, revision: string): string {
  return join(cache.storage, 'refs', ...revision.split('/'));
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch {
    return false;
  }
}

function tempSibling(p: string): string {
  return `${p}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Write then rename, so a reader (or a crash) never sees half a file. */
export async function writeFileAtomic(p: string, data: string): Promise<void> {
  await fs.mkdir(dirname(p), { recursive: true });
  const tmp = tempSibling(p);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, p);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** The commit a branch or tag resolved to when last online; a commit id is its own answer. */
export async function readRef(cache: RepoCache, revision: string): Promise<string | undefined> {
  if (isCommitHash(revision)) return revision;
  try {
    const commit = (await fs.readFile(refPath(cache, revision), 'utf8')).trim();
    return isCommitHash(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRef(cache: RepoCache, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const p = refPath(cache, revision);
  // Only rewrite a moved ref: a read-only shared cache that is already up to date must keep working.
  if ((await readRef(cache, revision)) === commit) return;
  // No trailing newline: huggingface_hub reads the file verbatim as the commit id.
  await writeFileAtomic(p, commit);
}

export type SymlinkFn = (target: string, path: string) => Promise<void>;

/**
 * Makes `pointer` show the blob's content: a relative symlink (the cache survives being moved), or a copy where the
 * file system refuses symlinks (FAT/exFAT drives, Windows without developer mode), as huggingface_hub does.
 * Built beside the pointer and renamed over it, so a concurrent reader sees the old link or the new, never none.
 */
export async function linkPointer(blob: string, pointer: string, symlink: SymlinkFn = (t, p) => fs.symlink(t, p)): Promise<'symlink' | 'copy'> {
  await fs.mkdir(dirname(pointer), { recursive: true });
  const tmp = tempSibling(pointer);
  try {
    try {
      await symlink(relative(dirname(pointer), blob), tmp);
      await fs.rename(tmp, pointer);
      return 'symlink';
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EINVAL' && code !== 'ENOSYS') throw e;
    }
    await fs.rm(tmp, { force: true });
    await fs.copyFile(blob, tmp);
    await fs.rename(tmp, pointer);
    return 'copy';
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
