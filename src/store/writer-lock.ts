import { join } from 'node:path';
import { SemsearchError } from '../errors.js';
import { writeError } from './io-errors.js';
import { tryAcquireLock, type Release } from '../hub/lock.js';

export const WRITER_LOCK = '.writer.lock';

/**
 * One writer per index folder. A second `index` on the same folder would interleave shards and rows and then
 * blame the corpus; it gets INDEX_LOCKED naming the writer instead. A lock left by a killed writer is taken over.
 */
export async function lockForWriting(dir: string): Promise<Release> {
  const file = join(dir, WRITER_LOCK);
  let got;
  try {
    got = await tryAcquireLock(file);
  } catch (cause) {
    throw writeError(file, `the writer lock ${file}`, cause);
  }
  if ('release' in got) return got.release;
  const who = got.owner === undefined ? 'another process' : `PID ${got.owner.pid} on ${got.owner.host}`;
  throw new SemsearchError('INDEX_LOCKED', `the index at ${dir} is being written by ${who}; wait for it to finish or stop it, then run again`, { file });
}
