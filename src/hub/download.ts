import { createReadStream, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SemsearchError } from '../errors.js';
import { backoffMs, displayUrl, hubRequest, type HttpSettings } from './http.js';
import { blobPath, exists, linkPointer, lockPath, pointerPath, type RepoCache, type SymlinkFn } from './cache.js';
import { withLock, type LockOptions } from './lock.js';
import type { FileMetadata } from './api.js';

/**
 * Getting one file's bytes into the cache safely: into `<blob>.incomplete` (huggingface_hub's name, so either library
 * resumes the other's partial download), resumed with a Range request after a drop, a stall or a kill, checked
 * against the announced size and, for LFS files, the sha256, and only then renamed to the blob. One process at a
 * time per blob, under a lock file.
 */
export interface BlobDownload {
  url: string;
  blob: string;
  size: number;
  sha256: string | undefined;
  /** For messages: "file onnx/model.onnx of owner/name at <commit>". */
  what: string;
  /** Bytes of this blob on disk so far, after each chunk. */
  onBytes?: (bytesOnDisk: number) => void;
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await fs.stat(p)).size;
  } catch {
    return 0;
  }
}

async function sha256Of(p: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(p)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function rangeStart(contentRange: string | null): number | undefined {
  const m = contentRange === null ? null : /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(contentRange.trim());
  return m === null ? undefined : Number(m[1]);
}

class Stalled {}

/** Streams a response body onto the end of `path`, aborting when no byte arrives for `idleMs`. */
async function appendBody(body: ReadableStream<Uint8Array>, path: string, abort: () => void, idleMs: number, onChunk: (n: number) => void): Promise<void> {
  const handle = await fs.open(path, 'a');
  const reader = body.getReader();
  let stalled = false;
  let timer = setTimeout(() => {
    stalled = true;
    abort();
  }, idleMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        abort();
      }, idleMs);
      await handle.write(value);
      onChunk(value.byteLength);
    }
  } catch (e) {
    throw stalled ? new Stalled() : e;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
    await handle.close();
  }
}

export async function downloadBlob(s: HttpSettings, idleMs: number, d: BlobDownload): Promise<void> {
  const incomplete = `${d.blob}.incomplete`;
  let failures = 0;
  let lastProblem = '';

  for (;;) {
    let onDisk = await fileSize(incomplete);
    if (onDisk > d.size) {
      // Longer than the file can be: not a prefix of it, so start over.
      await fs.truncate(incomplete, 0);
      onDisk = 0;
    }
    if (onDisk === d.size) break;

    const headers: Record<string, string> = onDisk > 0 ? { range: `bytes=${onDisk}-` } : {};
    const { response, abort } = await hubRequest(d.url, s, { redirects: 'all', what: d.what, headers, passStatuses: [416] });
    let restart = false;
    if (response.status === 416) {
      restart = true;
      lastProblem = `the server refused to resume at byte ${onDisk}`;
    } else if (response.status === 206) {
      if (rangeStart(response.headers.get('content-range')) !== onDisk) restart = true;
    } else if (response.status === 200) {
      // The server ignored the Range header and sends the whole file (CloudFront with compression does this).
      if (onDisk > 0) await fs.truncate(incomplete, 0);
      onDisk = 0;
    } else {
      await response.body?.cancel();
      throw new SemsearchError('HUB_HTTP_ERROR', `${d.what}: unexpected status ${response.status} from ${displayUrl(d.url)}`);
    }
    if (restart || response.body === null) {
      await response.body?.cancel().catch(() => undefined);
      await fs.truncate(incomplete, 0).catch(() => undefined);
      failures++;
    } else {
      const before = onDisk;
      try {
        await appendBody(response.body, incomplete, abort, idleMs, (n) => {
          onDisk += n;
          d.onBytes?.(onDisk);
        });
        if (onDisk === d.size) break;
        if (onDisk > d.size) {
          await fs.rm(incomplete, { force: true });
          throw new SemsearchError(
            'HUB_HASH_MISMATCH',
            `${d.what}: ${displayUrl(d.url)} sent ${onDisk} bytes, but the hub announced ${d.size}; the partial file was removed, run again to re-download`,
          );
        }
        lastProblem = `the connection closed after ${onDisk} of ${d.size} bytes`;
      } catch (e) {
        if (e instanceof SemsearchError) throw e;
        lastProblem =
          e instanceof Stalled
            ? `no data for ${idleMs / 1000} s after ${onDisk} of ${d.size} bytes`
            : `the transfer broke after ${onDisk} of ${d.size} bytes (${(e as Error).message})`;
      }
      // A drop after real progress is a new problem, not the same one again (huggingface_hub's http_get does this too).
      failures = onDisk > before ? 1 : failures + 1;
    }
    if (failures > s.retries) {
      throw new SemsearchError(
        'HUB_NETWORK_ERROR',
        `${d.what}: download from ${displayUrl(d.url)} failed ${failures} times in a row, last because ${lastProblem}. ` +
          `The ${onDisk} bytes received are kept in ${incomplete} and the next run resumes from there`,
        { file: incomplete },
      );
    }
    await sleep(backoffMs(failures - 1, s));
  }

  if (d.sha256 !== undefined) {
    const actual = await sha256Of(incomplete);
    if (actual !== d.sha256) {
      await fs.rm(incomplete, { force: true });
      throw new SemsearchError(
        'HUB_HASH_MISMATCH',
        `${d.what}: the downloaded bytes have sha256 ${actual}, but the hub announced ${d.sha256}. ` +
          'The corrupt file was removed; run again to re-download, and check any proxy or mirror (HF_ENDPOINT) in between',
        { file: d.blob },
      );
    }
  }
  await fs.rename(incomplete, d.blob);
}

export interface CacheFileContext {
  http: HttpSettings;
  cache: RepoCache;
  downloadTimeoutMs: number;
  lock?: LockOptions;
  symlink?: SymlinkFn;
  onBytes?: (bytesOnDisk: number) => void;
}

/**
 * Puts `filename` of `commit` into the snapshot: downloads its blob unless another file, commit or process already
 * did, then links it in. Returns the snapshot path of the file.
 */
export async function cacheFile(ctx: CacheFileContext, commit: string, filename: string, meta: FileMetadata): Promise<string> {
  const pointer = pointerPath(ctx.cache, commit, filename);
  const blob = blobPath(ctx.cache, meta.etag);
  await fs.mkdir(dirname(blob), { recursive: true });
  await withLock(
    lockPath(ctx.cache, meta.etag),
    async () => {
      // Checked again under the lock: the process that held it before us may have just finished this very blob.
      if (!(await exists(blob))) {
        await downloadBlob(ctx.http, ctx.downloadTimeoutMs, {
          url: meta.location,
          blob,
          size: meta.size,
          sha256: meta.sha256,
          what: `file ${filename} of ${ctx.cache.repoId} at ${commit}`,
          ...(ctx.onBytes === undefined ? {} : { onBytes: ctx.onBytes }),
        });
      }
      if (!(await exists(pointer))) await linkPointer(blob, pointer, ctx.symlink);
    },
    ctx.lock,
  );
  return pointer;
}
