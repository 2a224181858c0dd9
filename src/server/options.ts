import { availableParallelism } from 'node:os';
import { assertDeviceAvailable, checkDevice, type Device } from '../model/device.js';
import { SemsearchError } from '../errors.js';
import { defaultParallelism, spinningFor } from '../encoder/default-parallelism.js';
import { checkToken, checkWriteExposure } from './auth.js';
import { DEFAULT_BATCHING, type BatcherOptions } from './batcher.js';
import { DEFAULT_LIMITS, type Limits } from './schemas.js';
import { checkOversample } from '../opensearch/query.js';
import type { IndexSource } from './served.js';

/** An OpenSearch index filled by `semsearch push`, served instead of a local folder. */
export interface ServeOpenSearch {
  /** The cluster, e.g. http://127.0.0.1:9200. */
  url: string;
  indexName: string;
  /** Candidates per hit asked of each shard (default 10; a search's `oversample` overrides it). */
  oversample?: number;
  /** Rescore the candidates in semsearch's arithmetic (default false; a search's `rescore` overrides it). */
  rescore?: boolean;
}

export interface ServeOptions {
  /** The index folder to serve; or give `opensearch`. */
  index?: string;
  /** Serve an OpenSearch index instead of a local folder: the workers encode, the cluster stores and searches. */
  opensearch?: ServeOpenSearch;
  /**
   * A cross-encoder (folder or hub name) each worker loads once: /search re-ranks its hits with it when a request
   * says `rerank`, and text-embeddings-inference's POST /rerank scores texts with it. One output (a relevance score).
   */
  rerank?: string;
  /** Port to listen on (default 0: any free port; `url` tells which). */
  port?: number;
  /** Address to listen on (default 127.0.0.1: this machine only). */
  host?: string;
  /** Inference worker threads, each with its own copy of the model and index (default: `defaultParallelism`, as loadModel; `semsearch doctor` says it). */
  workers?: number;
  /** ONNX Runtime threads per worker (default: `defaultParallelism`'s; with `workers` given, the cores shared by the workers; at least 1). */
  threads?: number;
  /** Where each worker's ONNX Runtime runs: 'cpu' (default) or 'cuda' (DEVICE_UNAVAILABLE before listening where its provider is absent). */
  device?: Device;
  /** Check every shard's sha256 when the index is opened (default true). */
  verify?: boolean;
  /** Dynamic batching of concurrent requests (default true). */
  batching?: boolean;
  /** Texts per batch (default 32). */
  maxBatch?: number;
  /** Longest wait of a request for others to share its batch, in ms (default 5). */
  maxWaitMs?: number;
  /** The wait ends early once no request has arrived for this long, in ms (default 1). */
  quietMs?: number;
  /** Requests waiting for a worker before 503 SERVER_BUSY (default 256). */
  maxQueue?: number;
  limits?: Partial<Limits>;
  /** How long close() waits for requests in flight before dropping connections (default 30 s). */
  shutdownTimeoutMs?: number;
  /** Resolve createServer only once the model is loaded (default true); /ready says when, either way. */
  waitForReady?: boolean;
  /** Where the server reports failures that are not a client's (default: stderr). */
  log?: (line: string) => void;
  /**
   * Host names the server answers to besides the address it listens on (and localhost, 127.0.0.1, [::1] when that
   * is a loopback address). Any other Host header is refused, so a web page whose name is rebound to this machine
   * cannot read the index.
   */
  allowedHosts?: string[];
  /** Origins allowed to call the API from a browser (CORS); none by default. '*' allows any. */
  corsOrigins?: string[];
  /** Open connections at most; more are refused at once (default 256). */
  maxConnections?: number;
  /** Time a client has to send a whole request head, in ms (default 10 s); past it: 408 and the socket is closed. */
  headersTimeoutMs?: number;
  /** Serve no write endpoints (POST /documents, DELETE /documents/{id} answer 404); searches still see other writers' commits (default false). */
  readOnly?: boolean;
  /**
   * A request's deadline, from its arrival, in ms (default 30 s): past it the request is answered 504
   * DEADLINE_EXCEEDED and its work stops at the next batch. A request's `timeout_ms` may ask for less. Writes have none.
   */
  requestTimeoutMs?: number;
  /**
   * A bearer token the write endpoints require (`Authorization: Bearer <token>`; 401 UNAUTHORIZED without it or with
   * another). At least 16 characters of A-Z a-z 0-9 - . _ ~ + /. Read endpoints stay open.
   */
  token?: string;
  /**
   * Accept writes without a token on an address other machines may reach (default false: createServer refuses to
   * start with UNPROTECTED_WRITES unless the host is loopback, or `token` or `readOnly` is given).
   */
  insecureWrites?: boolean;
}

/** A request's deadline unless the server is told otherwise: far above what a request within the limits takes. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * A server's inference workers and each one's ONNX Runtime threads: what the caller gave, the rest from
 * `defaultParallelism` (the rule loadModel follows too). Workers given without threads share the cores. Spinning is
 * off where the threads together outnumber the cores.
 */
export function serveParallelism(o: { workers?: number; threads?: number; device?: Device }, cores: number = availableParallelism()): { workers: number; threads: number; allowSpinning: false | undefined } {
  const rule = defaultParallelism(cores, o.device);
  const workers = o.workers ?? rule.workers;
  const threads = o.threads ?? (o.workers === undefined ? rule.threadsPerWorker : Math.max(1, Math.floor(cores / workers)));
  return { workers, threads, allowSpinning: spinningFor(workers, threads, cores) };
}

/** ServeOptions once checked, with every default filled in: what the parts of a server are built from. */
export interface ServerConfig {
  source: IndexSource;
  rerank: string | undefined;
  host: string;
  port: number;
  workers: number;
  threads: number;
  /** false where the workers' threads together outnumber the cores (spinningFor); else ONNX Runtime's default. */
  allowSpinning: false | undefined;
  device: Device;
  verify: boolean | undefined;
  limits: Limits;
  batching: BatcherOptions;
  shutdownTimeoutMs: number;
  waitForReady: boolean;
  log: (line: string) => void;
  allowedHosts: readonly string[];
  corsOrigins: readonly string[];
  maxConnections: number;
  headersTimeoutMs: number;
  readOnly: boolean;
  requestTimeoutMs: number;
  /** The write endpoints' bearer token; undefined: writes are open (on loopback, or with insecureWrites). */
  token: string | undefined;
}

/** Check the options a caller gave before anything starts, so a mistake is an INVALID_ARGUMENT naming the option. */
export function resolveOptions(options: ServeOptions): ServerConfig {
  const source = sourceOf(options);
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 1) throw new SemsearchError('INVALID_ARGUMENT', `limit ${k} must be a positive integer, got ${v}`, { field: k });
  }
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new SemsearchError('INVALID_ARGUMENT', `port must be an integer from 0 to 65535 (0: any free port), got ${options.port}`, { field: 'port' });
  }
  if (options.shutdownTimeoutMs !== undefined && (!Number.isFinite(options.shutdownTimeoutMs) || options.shutdownTimeoutMs < 0)) {
    throw new SemsearchError('INVALID_ARGUMENT', `shutdownTimeoutMs must be a number of milliseconds, 0 or more, got ${options.shutdownTimeoutMs}`, { field: 'shutdownTimeoutMs' });
  }
  if (options.maxConnections !== undefined && (!Number.isInteger(options.maxConnections) || options.maxConnections < 1)) {
    throw new SemsearchError('INVALID_ARGUMENT', `maxConnections must be a positive integer, got ${options.maxConnections}`, { field: 'maxConnections' });
  }
  for (const o of options.corsOrigins ?? []) {
    // An origin is scheme://host[:port], exactly as a browser sends it: anything else would never match.
    if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) {
      throw new SemsearchError('INVALID_ARGUMENT', `CORS origin ${JSON.stringify(o)} is not an origin such as https://app.example (scheme and host, no path or trailing slash), nor '*'`, { field: 'corsOrigins' });
    }
  }
  if (options.requestTimeoutMs !== undefined && (!Number.isInteger(options.requestTimeoutMs) || options.requestTimeoutMs < 1)) {
    throw new SemsearchError('INVALID_ARGUMENT', `requestTimeoutMs must be a positive integer (milliseconds), got ${options.requestTimeoutMs}`, { field: 'requestTimeoutMs' });
  }
  if (options.workers !== undefined && (!Number.isInteger(options.workers) || options.workers < 1)) {
    throw new SemsearchError('INVALID_ARGUMENT', `workers must be a positive integer, got ${options.workers}`, { field: 'workers' });
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
    throw new SemsearchError('INVALID_ARGUMENT', `threads must be a positive integer, got ${options.threads}`, { field: 'threads' });
  }
  if (options.rerank !== undefined && (typeof options.rerank !== 'string' || options.rerank === '')) {
    throw new SemsearchError('INVALID_ARGUMENT', 'rerank must name a cross-encoder (a folder or hub name)', { field: 'rerank' });
  }
  const host = options.host ?? '127.0.0.1';
  const readOnly = options.readOnly === true;
  const token = options.token === undefined ? undefined : checkToken(options.token, 'token');
  checkWriteExposure({ host, readOnly, token, insecureWrites: options.insecureWrites === true });
  const device = options.device === undefined ? 'cpu' : checkDevice(options.device);
  assertDeviceAvailable(device);
  const { workers, threads, allowSpinning } = serveParallelism({ ...options, device });
  return {
    source,
    rerank: options.rerank,
    device,
    host,
    port: options.port ?? 0,
    workers,
    threads,
    allowSpinning,
    verify: options.verify,
    limits,
    batching: {
      batching: options.batching ?? DEFAULT_BATCHING.batching,
      maxBatch: options.maxBatch ?? DEFAULT_BATCHING.maxBatch,
      maxWaitMs: options.maxWaitMs ?? DEFAULT_BATCHING.maxWaitMs,
      maxQueue: options.maxQueue ?? DEFAULT_BATCHING.maxQueue,
      ...(options.quietMs !== undefined ? { quietMs: options.quietMs } : {}),
    },
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 30_000,
    waitForReady: options.waitForReady !== false,
    log: options.log ?? ((line: string) => void process.stderr.write(`${line}\n`)),
    allowedHosts: options.allowedHosts ?? [],
    corsOrigins: options.corsOrigins ?? [],
    maxConnections: options.maxConnections ?? 256,
    headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
    readOnly,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    token,
  };
}

function sourceOf(options: ServeOptions): IndexSource {
  const os = options?.opensearch;
  if (os === undefined) {
    if (typeof options?.index !== 'string' || options.index === '') {
      throw new SemsearchError('INVALID_ARGUMENT', 'createServer needs the index folder as options.index, or an OpenSearch index as options.opensearch', { field: 'index' });
    }
    return { backend: 'local', dir: options.index };
  }
  if (options.index !== undefined) throw new SemsearchError('INVALID_ARGUMENT', 'give options.index (a local folder) or options.opensearch, not both', { field: 'index' });
  for (const name of ['url', 'indexName'] as const) {
    if (typeof os[name] !== 'string' || os[name] === '') throw new SemsearchError('INVALID_ARGUMENT', `options.opensearch.${name} must be a non-empty string`, { field: `opensearch.${name}` });
  }
  if (os.oversample !== undefined) checkOversample(os.oversample);
  return {
    backend: 'opensearch',
    url: os.url,
    indexName: os.indexName,
    ...(os.oversample !== undefined ? { oversample: os.oversample } : {}),
    ...(os.rescore !== undefined ? { rescore: os.rescore === true } : {}),
  };
}
