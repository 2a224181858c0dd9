import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SemsearchError } from '../errors.js';
import type { Batcher } from './batcher.js';
import { httpError } from './http-errors.js';
import { sendError } from './respond.js';
import type { ServerConfig } from './options.js';
import type { ServerState } from './state.js';
import { WorkerPool } from './worker-pool.js';
import type { StageTimings } from './inference.js';

/** How long shutdown waits for its own 503 answers to requests that outlived its timeout to be written. */
const LATE_ANSWER_MS = 1000;

/** A whole request (head and body) must arrive within this. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The HTTP server with its timeouts and connection cap; it does not listen yet. */
export function createHttp(config: Pick<ServerConfig, 'headersTimeoutMs' | 'maxConnections'>, listener: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const headersTimeout = config.headersTimeoutMs;
  // Node checks for timed-out requests every connectionsCheckingInterval (30 s by default): check often enough
  // that a slow client is answered near the timeout it was given, not 30 s later.
  const http = createHttpServer({ headersTimeout, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: Math.min(1000, headersTimeout) }, listener);
  http.maxConnections = config.maxConnections;
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
  return http;
}

/** Listen on host:port; resolves with the port (the one picked when port is 0), rejects with a coded error saying why not. */
export function listen(http: Server, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException): void => {
      const where = `${host}:${port}`;
      const why =
        e.code === 'EADDRINUSE'
          ? `port ${port} is already in use on ${host}: stop what listens there or pick another --port`
          : e.code === 'EACCES'
            ? `no permission to listen on ${where} (ports below 1024 need privileges)`
            : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND'
              ? `${host} is not an address of this machine`
              : `cannot listen on ${where}: ${e.message}`;
      reject(new SemsearchError('SERVER_LISTEN_FAILED', why, { field: e.code === 'EADDRINUSE' || e.code === 'EACCES' ? 'port' : 'host', cause: e }));
    };
    http.once('error', fail);
    http.listen(port, host, () => {
      http.off('error', fail);
      resolve((http.address() as AddressInfo).port);
    });
  });
}

export interface Workers {
  /** Resolves once every worker has loaded the model and index; rejects with a SemsearchError when one cannot. */
  ready: Promise<void>;
  /** The started pool; undefined when loading failed. Never rejects. */
  pool: Promise<WorkerPool | undefined>;
}

/** Start the inference workers behind the batcher; `state` learns when they are loaded or why they are not. */
export function startWorkers(
  config: Pick<ServerConfig, 'source' | 'rerank' | 'threads' | 'allowSpinning' | 'device' | 'verify' | 'workers' | 'log'>,
  batcher: Batcher,
  state: ServerState,
  onStages?: (s: StageTimings) => void,
): Workers {
  const init = { source: config.source, ...(config.rerank !== undefined ? { crossEncoder: config.rerank } : {}), threads: config.threads, ...(config.allowSpinning !== undefined ? { allowSpinning: config.allowSpinning } : {}), ...(config.device !== 'cpu' ? { device: config.device } : {}), ...(config.verify !== undefined ? { verify: config.verify } : {}) };
  const started = WorkerPool.start(init, config.workers, batcher, config.log, onStages).then(
    ({ pool, summary }) => {
      state.summary = summary;
      return pool;
    },
    (e: unknown) => {
      state.loadError = e instanceof SemsearchError ? e : new SemsearchError('INTERNAL_ERROR', String(e));
      // No runner will come: requests already queued and those still to arrive are refused with the reason.
      batcher.fail(state.loadError);
      throw state.loadError;
    },
  );
  const ready = started.then(() => undefined);
  // A caller that does not wait for ready (waitForReady: false) must not get an unhandled rejection.
  ready.catch(() => undefined);
  return { ready, pool: started.catch(() => undefined) };
}

export interface ClosingParts {
  http: Server;
  state: ServerState;
  batcher: Batcher;
  workers: Workers;
  shutdownTimeoutMs: number;
}

/**
 * close() for a server: stop accepting, answer what is in flight (for at most shutdownTimeoutMs), then stop the
 * batcher and the workers. Calling it again returns the same promise.
 */
export function closer({ http, state, batcher, workers, shutdownTimeoutMs }: ClosingParts): () => Promise<void> {
  let closed: Promise<void> | undefined;
  return () => {
    closed ??= (async () => {
      state.closing = true;
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      // Requests waiting for company in a batch need not wait any longer: no more are coming.
      batcher.flush();
      await state.drain(shutdownTimeoutMs);
      // What has not finished by now will not: each such request gets an answer (503, Retry-After) before its
      // connection closes, never a connection closed with no response at all.
      const late = state.unanswered();
      for (const res of late) {
        sendError(
          res,
          httpError(
            'SERVER_NOT_READY',
            `the server is shutting down and this request did not finish within its shutdown timeout (${shutdownTimeoutMs / 1000} s); retry it. A write may still have been committed: an upsert can be sent again as it is, a delete sent again may answer 404`,
          ),
          { closing: true },
        );
      }
      // Those answers are small: give them a moment to reach their clients before the sockets go.
      if (late.length > 0) await state.drain(LATE_ANSWER_MS);
      http.closeAllConnections();
      await stopped;
      await batcher.whenIdle();
      // Workers still loading are waited for, so none is left running after close().
      const pool = await workers.pool;
      await batcher.close();
      await pool?.close();
    })();
    return closed;
  };
}
