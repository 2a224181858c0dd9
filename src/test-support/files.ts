import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The read-only shared data folder, found relative to the repository (../shared/data). */
export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

/** A path inside ../shared/data. */
export function sharedFile(...parts: string[]): string {
  return join(SHARED_DATA, ...parts);
}

/** Reason to skip a test that reads shared data, or false when the data is there. */
export function skipWithoutShared(...parts: string[]): string | false {
  return existsSync(sharedFile(...parts)) ? false : `needs ../shared/data/${join(...parts)} beside the repository, which is absent here`;
}

/** A scratch folder for one test file; `write` puts a file in it and returns its path. */
export async function scratch(): Promise<{ dir: string; write: (name: string, content: string) => Promise<string>; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'semsearch-eval-'));
  return {
    dir,
    write: async (name, content) => {
      const p = join(dir, name);
      await writeFile(p, content, 'utf8');
      return p;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
