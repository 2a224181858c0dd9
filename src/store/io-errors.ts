import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { SemsearchError } from '../errors.js';

/** errno codes of a disk (or a quota) with no room left. */
const FULL = new Set(['ENOSPC', 'EDQUOT']);
/** errno codes of a folder that cannot be written: a read-only mount, or no permission. */
const READ_ONLY = new Set(['EROFS', 'EACCES', 'EPERM']);

/** What the index looks like after a write that failed before its commit: said in every write error. */
const INTACT = 'nothing was committed and the index is as its last commit left it';

function errnoOf(cause: unknown): string {
  return String((cause as { code?: unknown } | null)?.code ?? '');
}

/**
 * Whether the file system holding `path` has (almost) no room left: for failures that carry no errno (a native
 * library's write), asked before its partial file is removed.
 */
export function diskIsFull(path: string): boolean {
  try {
    const s = statfsSync(path);
    return s.bavail * s.bsize < 64 * 1024;
  } catch {
    return false;
  }
}

/**
 * A failed write of an index file (`what` names it: "the shard …", "the manifest …") as the error a caller can act
 * on: DISK_FULL for a full disk or quota, INDEX_READ_ONLY for a folder that cannot be written, FILE_WRITE_FAILED
 * otherwise. A SemsearchError passes through. `full` says the disk was found full where the cause has no errno.
 */
export function writeError(file: string, what: string, cause: unknown, full = false): SemsearchError {
  if (cause instanceof SemsearchError) return cause;
  const code = errnoOf(cause);
  const msg = (cause as Error | null)?.message ?? String(cause);
  if (FULL.has(code) || (full && code === '')) {
    return new SemsearchError('DISK_FULL', `cannot write ${what}: the disk is full${code !== '' ? ` (${code})` : ''}; ${INTACT}. Free space and run it again`, { file, cause });
  }
  if (READ_ONLY.has(code)) {
    return new SemsearchError(
      'INDEX_READ_ONLY',
      `cannot write ${what}: its folder is read-only or not writable by this user (${code}); ${INTACT}. It can still be opened and searched; to change it, make the folder writable or copy the index to a writable disk`,
      { file, cause },
    );
  }
  return new SemsearchError('FILE_WRITE_FAILED', `cannot write ${what}: ${msg}; ${INTACT}`, { file, cause });
}

/**
 * SQLite's failures on the document store as coded errors naming the file. Only SQLite's own format checks
 * (SQLITE_CORRUPT, SQLITE_NOTADB) call the store damaged; a full disk, a read-only folder, a busy lock or an I/O
 * error say so and leave the index as it was.
 */
export function sqliteError(file: string, doing: 'open' | 'read' | 'write', cause: unknown): SemsearchError {
  if (cause instanceof SemsearchError) return cause;
  const code = errnoOf(cause);
  const msg = (cause as Error | null)?.message ?? String(cause);
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || /malformed|not a database/.test(msg)) {
    return new SemsearchError('INDEX_CORRUPT', `the document store ${file} fails SQLite's format check (${msg}): it was changed or damaged; restore it from a copy or rebuild the index`, { file, cause });
  }
  // SQLite says SQLITE_FULL for a full disk when a write of its own fails, but a disk I/O error when growing its WAL
  // index or journal does: those are asked of the file system.
  const ioFull = code.startsWith('SQLITE_IOERR') && doing !== 'read' && diskIsFull(dirname(file));
  if (code === 'SQLITE_FULL' || ioFull || /disk is full/.test(msg)) {
    return writeError(file, `the document store ${file}`, Object.assign(new Error(msg), { code: 'ENOSPC' }));
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM' || /readonly|unable to open/.test(msg)) {
    return new SemsearchError(
      'INDEX_READ_ONLY',
      doing === 'write'
        ? `cannot write the document store ${file} (${msg}): its folder is read-only or not writable by this user; ${INTACT}. It can still be opened and searched; to change it, make the folder writable or copy the index to a writable disk`
        : `cannot ${doing} the document store ${file} (${msg}): its folder is read-only or missing, and ${doing === 'open' ? 'a store still in WAL mode (an unfinished build, or one built by an earlier semsearch) needs' : 'this needs'} write access; finish or copy the index on a writable disk`,
      { file, cause },
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SemsearchError('INDEX_LOCKED', `the document store ${file} is locked by another connection (${msg}); run it again once the other writer has finished`, { file, cause });
  }
  if (doing === 'write') return new SemsearchError('FILE_WRITE_FAILED', `cannot write the document store ${file}: ${msg}; ${INTACT}`, { file, cause });
  if (code === 'SQLITE_ERROR') {
    // A schema SQLite was asked for and the file does not have (no docs table, a column the manifest names).
    return new SemsearchError('INDEX_CORRUPT', `the document store ${file} does not hold what the manifest describes (${msg}): it belongs to another index or was edited; restore it or rebuild the index`, { file, cause });
  }
  return new SemsearchError('FILE_NOT_FOUND', `cannot ${doing} the document store ${file}: ${msg} (an I/O error: the disk, not necessarily the index, failed)`, { file, cause });
}
