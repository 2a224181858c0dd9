import { existsSync, promises as fs } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { SemsearchError } from '../errors.js';
import { detectCpu, type CpuFacts } from '../cpu/features.js';
import { readHubEnvironment, type Env, type HubEnvironment } from './environment.js';
import { parseModelRef, validateRevision } from './names.js';
import { exists, pointerPath, readRef, repoCache, snapshotDir, writeRef, type RepoCache, type SymlinkFn } from './cache.js';
import { fetchFileMetadata, fetchRepoInfo, type FileMetadata } from './api.js';
import { DEFAULT_RETRY, type HttpSettings } from './http.js';
import { cacheFile, type CacheFileContext } from './download.js';
import { checkVariant, missingForOffline, onnxFilePath, parseModules, selectModelFiles, type ModuleEntry } from './model-files.js';
import { createProgressBar, type ProgressListener } from './progress.js';
import type { LockOptions } from './lock.js';

export interface NetworkOptions {
  /** Wait for the hub to answer a request, in ms (default HF_HUB_ETAG_TIMEOUT, 10 s). */
  timeoutMs?: number;
  /** Longest pause allowed inside a download, in ms (default HF_HUB_DOWNLOAD_TIMEOUT, 10 s). */
  downloadTimeoutMs?: number;
  /** Retries of a request that failed with 429, 5xx, a dropped connection or a timeout (default 5). */
  retries?: number;
  /** First backoff delay, doubled at each retry (default 1000 ms). */
  retryBaseMs?: number;
  /** Longest backoff delay (default 8000 ms). */
  retryMaxMs?: number;
}

export interface ResolveModelOptions {
  /** Branch, tag or commit id (default 'main'). */
  revision?: string;
  /** huggingface_hub cache folder (default HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Hub token (default HF_TOKEN, else the token file `hf auth login` writes); false sends none. */
  token?: string | false;
  /** Use the cache only, never the network, as HF_HUB_OFFLINE=1 does. */
  localFilesOnly?: boolean;
  /**
   * ONNX export to fetch: onnx/model_<variant>.onnx, e.g. 'qint8_avx512_vnni' or 'O4' (default onnx/model.onnx);
   * 'int8' fetches the quantized file accurate on this CPU.
   */
  variant?: string;
  /** The CPU that 'int8' picks a file for (default: this one, detectCpu()). */
  cpu?: CpuFacts;
  /** Download progress; when set, no progress bar is drawn. */
  onProgress?: ProgressListener;
  /** Hub base URL (default HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** Environment to read the HF_* settings from (default process.env). */
  env?: Env;
  network?: NetworkOptions;
}

/** What tests set beyond the public options: the lock's timings, and a symlink that fails like a FAT drive's. */
export interface ResolveTestHooks {
  lock?: LockOptions;
  symlink?: SymlinkFn;
}

const CONCURRENCY = 4;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

type CacheLookup = { dir: string } | { problem: string; file: string | undefined; commit: string | undefined };

/** A cached snapshot complete enough to load, or why there is none. */
async function lookInCache(cache: RepoCache, revision: string, variant: string | undefined, cpu: CpuFacts): Promise<CacheLookup> {
  const commit = await readRef(cache, revision);
  if (commit === undefined) {
    return { problem: `no copy of ${cache.repoId} at revision '${revision}' is in the cache ${cache.cacheDir}`, file: undefined, commit };
  }
  const dir = snapshotDir(cache, commit);
  if (!existsSync(dir)) {
    return { problem: `the cache ${cache.cacheDir} has no snapshot of ${cache.repoId} at commit ${commit}`, file: undefined, commit };
  }
  const missing = missingForOffline((f) => existsSync(join(dir, f)), variant, cpu);
  if (missing.length > 0) {
    return { problem: `${missing.join(', ')} of ${cache.repoId} (commit ${commit}) ${missing.length > 1 ? 'are' : 'is'} not in ${dir}`, file: missing[0], commit };
  }
  return { dir };
}

function offlineError(lookup: Exclude<CacheLookup, { dir: string }>, repoId: string, revision: string, reason: string): SemsearchError {
  const file = lookup.file ?? onnxFilePath(undefined);
  const rev = revision === 'main' ? '' : ` --revision ${revision}`;
  return new SemsearchError(
    'HUB_OFFLINE_MISSING',
    `${lookup.problem}, and ${reason} forbids downloading. Run once with network access ` +
      `(unset HF_HUB_OFFLINE and drop localFilesOnly) to fetch it, or fetch it with \`hf download ${repoId}${lookup.file === undefined ? '' : ` ${file}`}${rev}\``,
    { file, field: 'localFilesOnly' },
  );
}

function progressListener(options: ResolveModelOptions, env: HubEnvironment): { listener: ProgressListener; finish: () => void } {
  if (options.onProgress !== undefined) return { listener: options.onProgress, finish: () => undefined };
  if (env.progressDisabled) return { listener: () => undefined, finish: () => undefined };
  const bar = createProgressBar(process.stderr);
  return { listener: bar.update, finish: bar.finish };
}

/**
 * Turns a model name into a local folder, as sentence-transformers does with `SentenceTransformer(name)`: an existing
 * folder is returned as is; a hub name is fetched (only the files semsearch needs) into the huggingface_hub cache,
 * shared with Python, and the snapshot folder is returned. Offline (HF_HUB_OFFLINE=1 or localFilesOnly) it makes no
 * network call at all and answers from the cache.
 */
export function resolveModel(nameOrPath: string, options: ResolveModelOptions = {}): Promise<string> {
  return resolveModelWithHooks(nameOrPath, options);
}

/** resolveModel with the test hooks; not part of the package's API. */
export async function resolveModelWithHooks(nameOrPath: string, options: ResolveModelOptions & ResolveTestHooks): Promise<string> {
  const ref = parseModelRef(nameOrPath);
  if (ref.kind === 'local') return ref.dir;
  const { repoId } = ref;

  const env = readHubEnvironment(options.env ?? process.env);
  const revision = validateRevision(options.revision ?? 'main');
  const variant = options.variant;
  checkVariant(variant);
  const cpu = options.cpu ?? detectCpu({ env: options.env ?? process.env });
  const cache = repoCache(resolvePath(options.cacheDir ?? env.cacheDir), repoId);

  const offlineReason = options.localFilesOnly === true ? 'localFilesOnly' : env.offline ? 'HF_HUB_OFFLINE' : undefined;
  if (offlineReason !== undefined) {
    const found = await lookInCache(cache, revision, variant, cpu);
    if ('dir' in found) return found.dir;
    throw offlineError(found, repoId, revision, offlineReason);
  }

  const net = options.network ?? {};
  const http: HttpSettings = {
    endpoint: (options.endpoint ?? env.endpoint).replace(/\/+$/, ''),
    token: options.token === false ? undefined : (options.token ?? env.token),
    timeoutMs: net.timeoutMs ?? env.metadataTimeoutMs,
    retries: net.retries ?? DEFAULT_RETRY.retries,
    retryBaseMs: net.retryBaseMs ?? DEFAULT_RETRY.retryBaseMs,
    retryMaxMs: net.retryMaxMs ?? DEFAULT_RETRY.retryMaxMs,
  };

  let info;
  try {
    info = await fetchRepoInfo(http, repoId, revision);
  } catch (e) {
    // As huggingface_hub does: with the hub unreachable, down or refusing, a complete cached copy still serves.
    const found = await lookInCache(cache, revision, variant, cpu);
    if ('dir' in found) return found.dir;
    throw e;
  }
  const { commit } = info;
  await writeRef(cache, revision, commit);

  const progress = progressListener(options, env);
  const onDisk = new Map<string, number>();
  let total = 0;
  let filesDone = 0;
  let filesTotal = 0;
  const report = (file: string): void =>
    progress.listener({
      repoId,
      file,
      downloadedBytes: [...onDisk.values()].reduce((a, b) => a + b, 0),
      totalBytes: total,
      filesDone,
      filesTotal,
    });
  const ctx = (file: string, tracked: boolean): CacheFileContext => ({
    http,
    cache,
    downloadTimeoutMs: net.downloadTimeoutMs ?? env.downloadTimeoutMs,
    ...(options.lock === undefined ? {} : { lock: options.lock }),
    ...(options.symlink === undefined ? {} : { symlink: options.symlink }),
    ...(tracked
      ? {
          onBytes: (n: number) => {
            onDisk.set(file, n);
            report(file);
          },
        }
      : {}),
  });
  const fetchOne = async (file: string, meta?: FileMetadata): Promise<string> => {
    const pointer = pointerPath(cache, commit, file);
    if (await exists(pointer)) return pointer;
    return cacheFile(ctx(file, meta !== undefined), commit, file, meta ?? (await fetchFileMetadata(http, repoId, commit, file)));
  };

  // modules.json first, untracked: it says which module folders the rest of the selection needs.
  let modules: ModuleEntry[] = [];
  if (info.files.includes('modules.json')) {
    const p = await fetchOne('modules.json');
    modules = parseModules(await fs.readFile(p, 'utf8'), p);
  }
  const files = selectModelFiles(repoId, info.files, modules, variant, cpu);

  const todo: string[] = [];
  for (const f of files) if (!(await exists(pointerPath(cache, commit, f)))) todo.push(f);
  const metas = await mapLimit(todo, CONCURRENCY, (f) => fetchFileMetadata(http, repoId, commit, f));
  total = metas.reduce((sum, m) => sum + m.size, 0);
  filesTotal = todo.length;
  try {
    await mapLimit(todo, CONCURRENCY, async (f) => {
      const meta = metas[todo.indexOf(f)] as FileMetadata;
      await fetchOne(f, meta);
      onDisk.set(f, meta.size);
      filesDone++;
      report(f);
    });
  } finally {
    if (todo.length > 0) progress.finish();
  }
  return snapshotDir(cache, commit);
}
