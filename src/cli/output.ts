import { once } from 'node:events';
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SemsearchError } from '../errors.js';

/*
 * The files commands write (-o, --out, export's graph): checked before any model is loaded or input
 * read, so a typo costs nothing, and written through a temporary file renamed over the name at the end, so a failed
 * or interrupted command never leaves half a file, nor destroys the one that was there.
 */

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Refuse, before any work, an output path that cannot be the file written: a folder, a path whose folder is
 * missing, not a folder or not writable (FILE_WRITE_FAILED), or the same file as one of `inputs` (INVALID_ARGUMENT:
 * writing it would destroy an input; symbolic and hard links are seen through). `field` names the option.
 * `createsFolder`: the command makes the file's folder itself, so a missing one is fine.
 */
export function checkOutputPath(path: string, field: string, inputs: readonly (string | undefined)[] = [], options: { createsFolder?: boolean } = {}): void {
  const fail = (why: string): never => {
    throw new SemsearchError('FILE_WRITE_FAILED', `${field} ${path}: ${why}`, { file: path, field });
  };
  if (path === '') fail('give a file name');
  const target = statOrUndefined(path);
  if (target?.isDirectory() === true) fail('is a folder; give the name of a file to write');
  const dir = dirname(resolve(path));
  const parent = statOrUndefined(dir);
  if (parent === undefined) {
    if (options.createsFolder !== true) fail(`the folder ${dir} does not exist`);
  } else if (!parent.isDirectory()) fail(`${dir} is not a folder`);
  else if (target === undefined || target.isFile()) {
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      fail(`the folder ${dir} is not writable`);
    }
  }
  if (target === undefined) return;
  for (const input of inputs) {
    if (input === undefined) continue;
    const s = statOrUndefined(input);
    if (s !== undefined && s.isFile() && s.dev === target.dev && s.ino === target.ino) {
      throw new SemsearchError('INVALID_ARGUMENT', `${field} ${path} is the input file ${input}: writing it would destroy the input; give another file name`, {
        file: path,
        field,
      });
    }
  }
}

/** A text file being written: write() waits while the file catches up; commit() renames it into place. */
export interface OutputFile {
  write(text: string): Promise<void>;
  /** Flush, then put the file under its name (the temporary is renamed over it). */
  commit(): Promise<void>;
  /** Drop what was written (the temporary is removed; an existing file under the name is left as it was). */
  abort(): Promise<void>;
}

function writeFailed(path: string, field: string | undefined, e: unknown): SemsearchError {
  if (e instanceof SemsearchError) return e;
  return new SemsearchError('FILE_WRITE_FAILED', `cannot write ${path}: ${(e as Error).message}`, { file: path, ...(field !== undefined ? { field } : {}), cause: e });
}

/**
 * Open `path` for writing through `<name>.<pid>.tmp` beside it. A path that exists and is not a regular file
 * (/dev/stdout, a named pipe) is written in place: renaming over a device or a pipe would replace it.
 */
export async function openOutputFile(path: string, field?: string): Promise<OutputFile> {
  const existing = statOrUndefined(path);
  const inPlace = existing !== undefined && !existing.isFile();
  const tmp = inPlace ? path : join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fh: FileHandle;
  try {
    fh = await open(tmp, inPlace ? 'a' : 'w');
  } catch (e) {
    throw writeFailed(path, field, e);
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await fh.close();
  };
  return {
    async write(text) {
      try {
        const buf = Buffer.from(text, 'utf8');
        for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
      } catch (e) {
        throw writeFailed(path, field, e);
      }
    },
    async commit() {
      try {
        if (!inPlace) await fh.sync();
        await close();
        if (!inPlace) await rename(tmp, path);
      } catch (e) {
        if (!inPlace) await rm(tmp, { force: true });
        throw writeFailed(path, field, e);
      }
    },
    async abort() {
      await close().catch(() => undefined);
      if (!inPlace) await rm(tmp, { force: true });
    },
  };
}

/** Run `write` on a temporary path beside `path`, then rename it into place; on failure the temporary is removed. */
export async function writeAtomically<T>(path: string, field: string | undefined, write: (tmp: string) => Promise<T>): Promise<T> {
  const existing = statOrUndefined(path);
  if (existing !== undefined && !existing.isFile()) return write(path);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const r = await write(tmp);
    await rename(tmp, path);
    return r;
  } catch (e) {
    await rm(tmp, { force: true });
    // A writer's own FILE_WRITE_FAILED names the temporary file: say it of the file asked for.
    if (e instanceof SemsearchError && e.code !== 'FILE_WRITE_FAILED') throw e;
    const why = (e instanceof SemsearchError && e.cause instanceof Error ? e.cause : (e as Error)).message.split(tmp).join(path);
    throw new SemsearchError('FILE_WRITE_FAILED', `cannot write ${path}: ${why}`, { file: path, ...(field !== undefined ? { field } : {}), cause: e });
  }
}

/** Write text to a stream, waiting for 'drain' when its buffer is full, so memory stays bounded by one chunk. */
export async function writeToStream(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}
