import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { SemsearchError } from '../errors.js';
import { Batcher, DEFAULT_BATCHING, type BatcherOptions } from './batcher.js';
import { httpError, toHttpError, type HttpError } from './http-errors.js';
import type { IndexSummary, Job, JobResult } from './inference.js';
import { Metrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { buildSchemas, DEFAULT_LIMITS, validate, type Limits, type Schema } from './schemas.js';
import { WorkerPool } from './worker-pool.js';

export interface ServeOptions {
  /** The index folder to serve. */
  index: string;
  /** Port to listen on (default 0: any free port; `url` tells which). */
  port?: number;
  /** Address to listen on (default 127.0.0.1: this machine only). */
  host?: string;
  /** Inference worker threads, each with its own copy of the model and index (default 1). */
  workers?: number;
  /** ONNX Runtime threads per worker (default: the cores less one, for the HTTP thread, shared by the workers; at least 1). */
  threads?: number;
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
}

export interface SemsearchServer {
  url: string;
  host: string;
  port: number;
  /** Resolves once the model and index are loaded in every worker; rejects when they cannot be. */
  ready: Promise<void>;
  /** Stop accepting connections, finish the requests in flight, stop the workers. */
  close(): Promise<void>;
}

// Both src/server/ and dist/server/ sit two levels below the package root, where the page and package.json are.
const ROOT = new URL('../../', import.meta.url);
const PAGE: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

type Route =
  | { method: 'POST'; schema: Schema; job: (body: Record<string, unknown>) => Job }
  | { method: 'GET'; get: () => { status: number; body: unknown; type?: string } };

function busyHeaders(status: number): Record<string, string> {
  return status === 503 ? { 'Retry-After': '1' } : {};
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new SemsearchError('REQUEST_TOO_LARGE', `the request body has ${declared} bytes; the server accepts at most ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        reject(new SemsearchError('REQUEST_TOO_LARGE', `the request body is over ${limit} bytes, the most the server accepts`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(buf: Buffer, contentType: string | undefined): unknown {
  // A body without a JSON type is refused even when it parses: a form a foreign page posts (text/plain, no
  // preflight) must not reach the API.
  if (contentType === undefined || !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType)) {
    throw new SemsearchError('UNSUPPORTED_MEDIA_TYPE', `the body must be JSON sent as Content-Type: application/json, got ${contentType === undefined ? 'no Content-Type' : contentType.slice(0, 100)}`);
  }
  const text = buf.toString('utf8');
  if (text.trim() === '') throw new SemsearchError('INVALID_JSON', 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SemsearchError('INVALID_JSON', `the request body is not valid JSON: ${(e as Error).message}`);
  }
}

/** A whole request (head and body) must arrive within this. */
const REQUEST_TIMEOUT_MS = 30_000;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The host part of a Host header, lower-cased and without the port or IPv6 brackets. */
function hostOf(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  return h.replace(/:\d+$/, '');
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Which Host headers to serve. Bound to one address: that address and any configured name (with localhost and the
 * loopback literals when the address is loopback). Bound to all interfaces: any IP literal too, since DNS rebinding
 * needs a name, never an address.
 */
function hostChecker(bound: string, allowed: readonly string[]): (header: string | undefined) => boolean {
  const names = new Set([bound.toLowerCase(), ...allowed.map((a) => a.toLowerCase())]);
  if (LOOPBACK.has(bound)) for (const l of LOOPBACK) names.add(l);
  const anyInterface = bound === '0.0.0.0' || bound === '::';
  return (header) => {
    const h = hostOf(header);
    if (h === undefined) return false;
    return names.has(h) || (anyInterface && (IPV4.test(h) || h.includes(':')));
  };
}

function unwrap(r: JobResult): Record<string, unknown> {
  if (r.ok) return r.value;
  throw new SemsearchError(r.error.code, r.error.message, r.error.field !== undefined ? { field: r.error.field } : {});
}

/**
 * Serve an index over HTTP: POST /search, /encode, /similarity; GET /info, /health, /ready, /metrics,
 * /openapi.json; the search page at /. Inference runs in worker threads behind a dynamic batcher.
 */
export async function createServer(options: ServeOptions): Promise<SemsearchServer> {
  if (typeof options?.index !== 'string' || options.index === '') {
    throw new SemsearchError('INVALID_ARGUMENT', 'createServer needs the index folder as options.index', { field: 'index' });
  }
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v < 1) throw new SemsearchError('INVALID_ARGUMENT', `limit ${k} must be a positive integer, got ${v}`, { field: k });
  }
  const batching: BatcherOptions = {
    batching: options.batching ?? DEFAULT_BATCHING.batching,
    maxBatch: options.maxBatch ?? DEFAULT_BATCHING.maxBatch,
    maxWaitMs: options.maxWaitMs ?? DEFAULT_BATCHING.maxWaitMs,
    maxQueue: options.maxQueue ?? DEFAULT_BATCHING.maxQueue,
    ...(options.quietMs !== undefined ? { quietMs: options.quietMs } : {}),
  };
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new SemsearchError('INVALID_ARGUMENT', `port must be an integer from 0 to 65535 (0: any free port), got ${options.port}`, { field: 'port' });
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
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new SemsearchError('INVALID_ARGUMENT', `workers must be a positive integer, got ${workers}`, { field: 'workers' });
  const batcher = new Batcher(batching);
  const metrics = new Metrics();
  batcher.onBatch = (requests, texts) => {
    metrics.batchRequests.observe(requests);
    metrics.batchTexts.observe(texts);
  };
  const schemas = buildSchemas(limits);
  const version = (JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { version: string }).version;
  const openapi = JSON.stringify(openApiDocument(schemas, version));
  const page = Object.fromEntries(Object.entries(PAGE).map(([path, p]) => [path, { ...p, body: readFileSync(new URL(`src/server/page/${p.file}`, ROOT)) }]));

  let summary: IndexSummary | undefined;
  let loadError: SemsearchError | undefined;
  let closing = false;

  const texts = (body: Record<string, unknown>, one: string, many: string): string[] => (body[many] as string[] | undefined) ?? [body[one] as string];
  const routes: Record<string, Route> = {
    '/search': {
      method: 'POST',
      schema: schemas.searchRequest,
      job: (b) => {
        const k = (b['k'] as number | undefined) ?? 10;
        const offset = (b['offset'] as number | undefined) ?? 0;
        if (offset + k > limits.maxK) {
          throw new SemsearchError('LIMIT_EXCEEDED', `offset + k is ${offset + k}; the server returns at most the first ${limits.maxK} hits of a query`, { field: 'offset' });
        }
        return {
          kind: 'search',
          queries: texts(b, 'query', 'queries'),
          k: (b['k'] as number | undefined) ?? 10,
          ...(b['offset'] !== undefined ? { offset: b['offset'] as number } : {}),
          ...(b['rescore'] !== undefined ? { rescore: b['rescore'] as boolean } : {}),
          ...(b['exact'] !== undefined ? { exact: b['exact'] as boolean } : {}),
        };
      },
    },
    '/encode': {
      method: 'POST',
      schema: schemas.encodeRequest,
      job: (b) => ({
        kind: 'encode',
        texts: b['texts'] as string[],
        precision: (b['precision'] as Extract<Job, { kind: 'encode' }>['precision'] | undefined) ?? 'float32',
        ...(b['normalize'] !== undefined ? { normalize: b['normalize'] as boolean } : {}),
      }),
    },
    '/similarity': {
      method: 'POST',
      schema: schemas.similarityRequest,
      job: (b) => ({ kind: 'similarity', queries: b['queries'] as string[], passages: b['passages'] as string[] }),
    },
    '/health': { method: 'GET', get: () => ({ status: 200, body: { status: 'ok' } }) },
    '/ready': {
      method: 'GET',
      get: () => {
        if (summary !== undefined && !closing) return { status: 200, body: { ready: true } };
        const why = closing ? 'the server is shutting down' : loadError !== undefined ? `the index could not be loaded: ${loadError.code}` : 'the model and index are loading';
        return httpError('SERVER_NOT_READY', why);
      },
    },
    '/info': {
      method: 'GET',
      get: () => {
        if (summary === undefined) return httpError('SERVER_NOT_READY', 'the model and index are loading');
        return {
          status: 200,
          body: {
            ...summary,
            limits,
            batching: {
              enabled: batching.batching,
              maxBatch: batching.maxBatch,
              maxWaitMs: batching.maxWaitMs,
              quietMs: Math.min(batching.quietMs ?? 1, batching.maxWaitMs),
              maxQueue: batching.maxQueue,
              workers,
            },
          },
        };
      },
    },
    '/metrics': {
      method: 'GET',
      get: () => ({
        status: 200,
        type: 'text/plain; version=0.0.4; charset=utf-8',
        body: metrics.render({ queueDepth: batcher.depth, inFlightBatches: batcher.inFlight, inFlightRequests: inFlight, ready: summary !== undefined && !closing }),
      }),
    },
    '/openapi.json': { method: 'GET', get: () => ({ status: 200, type: 'application/json; charset=utf-8', body: openapi }) },
  };

  let inFlight = 0;
  let drained: (() => void) | undefined;

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, type = 'application/json; charset=utf-8'): void {
    if (res.headersSent || res.destroyed) return;
    const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': String(Buffer.byteLength(data)),
      'Cache-Control': 'no-store',
      ...(closing ? { Connection: 'close' } : {}),
      ...headers,
    });
    res.end(data);
  }

  function sendError(res: ServerResponse, h: HttpError, headers: Record<string, string> = {}): void {
    send(res, h.status, h.body, { ...busyHeaders(h.status), ...headers });
  }

  const hostAllowed = hostChecker(options.host ?? '127.0.0.1', options.allowedHosts ?? []);
  const cors = new Set(options.corsOrigins ?? []);

  /** CORS headers for an allowed Origin; none otherwise (the browser then keeps the answer from the page). */
  function corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (origin === undefined || !(cors.has('*') || cors.has(origin))) return {};
    return { 'Access-Control-Allow-Origin': cors.has('*') ? '*' : origin, Vary: 'Origin' };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!hostAllowed(req.headers.host)) {
      sendError(res, httpError('HOST_NOT_ALLOWED', `this server does not answer to Host ${String(req.headers.host ?? '(none)').slice(0, 100)}; start it with --allowed-host for that name`));
      return;
    }
    const allowOrigin = corsHeaders(req);
    for (const [k, v] of Object.entries(allowOrigin)) res.setHeader(k, v);
    if (req.method === 'OPTIONS') {
      // A CORS preflight: allowed origins learn what they may send; others get no CORS headers.
      const pre = Object.keys(allowOrigin).length > 0 ? { 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Content-Type', 'Access-Control-Max-Age': '600' } : {};
      res.writeHead(204, { ...pre, 'Content-Length': '0' });
      res.end();
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const asset = page[path];
    if (asset !== undefined && method === 'GET') {
      send(res, 200, asset.body, PAGE_HEADERS, asset.type);
      return;
    }
    const route = routes[path];
    if (route === undefined) {
      sendError(res, httpError('ROUTE_NOT_FOUND', `no endpoint at ${path.slice(0, 200)}; see /openapi.json`));
      return;
    }
    if (route.method !== method) {
      sendError(res, httpError('METHOD_NOT_ALLOWED', `${path} takes ${route.method}, got ${String(req.method).slice(0, 20)}`), { Allow: route.method === 'GET' ? 'GET, HEAD' : 'POST' });
      return;
    }
    if (route.method === 'GET') {
      const r = route.get();
      if (r.status === 200) send(res, 200, r.body, {}, r.type);
      else sendError(res, r as HttpError);
      return;
    }
    if (closing) {
      sendError(res, httpError('SERVER_NOT_READY', 'the server is shutting down'));
      return;
    }
    const started = performance.now();
    let body: unknown;
    try {
      body = parseJson(await readBody(req, limits.maxBodyBytes), req.headers['content-type']);
    } catch (e) {
      const h = toHttpError(e);
      // The rest of an oversized body is not read: close the connection rather than parse it as a next request.
      sendError(res, h, h.status === 413 ? { Connection: 'close' } : {});
      return;
    }
    const invalid = validate(body, route.schema);
    if (invalid !== undefined) {
      sendError(res, httpError(invalid.code, invalid.message, invalid.field));
      return;
    }
    let value: Record<string, unknown>;
    // A client that hangs up while its request waits takes the request out of the queue with it.
    const gone = new AbortController();
    const onClose = (): void => {
      if (!res.writableEnded) gone.abort();
    };
    res.once('close', onClose);
    try {
      value = unwrap(await batcher.submit(route.job(body as Record<string, unknown>), gone.signal));
    } catch (e) {
      if (gone.signal.aborted) {
        metrics.dropped.inc();
        return;
      }
      const h = toHttpError(e);
      if (h.body.error.code === 'SERVER_BUSY') metrics.rejected.inc();
      if (h.status >= 500 && h.status !== 503) log(`semsearch serve: ${path} failed: ${(e as Error)?.stack ?? String(e)}`);
      sendError(res, h);
      return;
    }
    send(res, 200, { ...value, took_ms: Number((performance.now() - started).toFixed(3)) });
  }

  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  // Node checks for timed-out requests every connectionsCheckingInterval (30 s by default): check often enough
  // that a slow client is answered near the timeout it was given, not 30 s later.
  const http = createHttpServer({ headersTimeout, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: Math.min(1000, headersTimeout) }, (req, res) => {
    const t0 = performance.now();
    inFlight++;
    let path = '/';
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      path = '(invalid)';
    }
    const label = routes[path] !== undefined ? path : page[path] !== undefined ? '/' : 'other';
    res.once('close', () => {
      inFlight--;
      metrics.requests.inc({ route: label, method: ['GET', 'POST', 'HEAD'].includes(req.method ?? '') ? (req.method as string) : 'other', status: String(res.statusCode) });
      metrics.latency.observe((performance.now() - t0) / 1000, { route: label });
      if (inFlight === 0) drained?.();
    });
    handle(req, res, path).catch((e: unknown) => {
      log(`semsearch serve: ${path} failed: ${(e as Error)?.stack ?? String(e)}`);
      sendError(res, toHttpError(e));
    });
  });
  http.maxConnections = options.maxConnections ?? 256;
  // Malformed HTTP gets a JSON answer like every other client mistake, not Node's bare one; the socket is then
  // destroyed, not left half-open for as long as the client keeps its end.
  http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooBig = err.code === 'HPE_HEADER_OVERFLOW';
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const [status, code, message] = tooBig
      ? ['431 Request Header Fields Too Large', 'REQUEST_TOO_LARGE', 'the request headers are too large']
      : timedOut
        ? ['408 Request Timeout', 'REQUEST_TIMEOUT', `the request was not received in time (its head within ${headersTimeout / 1000} s, all of it within ${REQUEST_TIMEOUT_MS / 1000} s)`]
        : ['400 Bad Request', 'INVALID_ARGUMENT', 'malformed HTTP request'];
    const body = JSON.stringify(httpError(code as 'INVALID_ARGUMENT', message).body);
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy());
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException): void => {
      const where = `${host}:${options.port ?? 0}`;
      const why =
        e.code === 'EADDRINUSE'
          ? `port ${options.port} is already in use on ${host}: stop what listens there or pick another --port`
          : e.code === 'EACCES'
            ? `no permission to listen on ${where} (ports below 1024 need privileges)`
            : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND'
              ? `${host} is not an address of this machine`
              : `cannot listen on ${where}: ${e.message}`;
      reject(new SemsearchError('SERVER_LISTEN_FAILED', why, { field: e.code === 'EADDRINUSE' || e.code === 'EACCES' ? 'port' : 'host', cause: e }));
    };
    http.once('error', fail);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', fail);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;

  // ONNX Runtime's default, a thread per core, competes with the HTTP thread for the same cores: on 2 cores
  // one model thread answered 30-75% more requests per second than two (bench/serve-load.ts, MiniLM-L6).
  const threads = options.threads ?? Math.max(1, Math.floor((availableParallelism() - 1) / workers));
  const init = { index: options.index, threads, ...(options.verify !== undefined ? { verify: options.verify } : {}) };
  let pool: WorkerPool | undefined;
  const ready = WorkerPool.start(init, workers, batcher, log).then(
    (started) => {
      pool = started.pool;
      summary = started.summary;
    },
    (e: unknown) => {
      loadError = e instanceof SemsearchError ? e : new SemsearchError('INTERNAL_ERROR', String(e));
      batcher.fail(loadError);
      throw loadError;
    },
  );
  ready.catch(() => undefined);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      batcher.flush();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.shutdownTimeoutMs ?? 30_000);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      http.closeAllConnections();
      await stopped;
      await batcher.whenIdle();
      await ready.catch(() => undefined);
      await batcher.close();
      await pool?.close();
    })();
    return closed;
  };

  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (options.waitForReady !== false) {
    try {
      await ready;
    } catch (e) {
      await close();
      throw e;
    }
  }
  return { url, host, port, ready, close };
}
