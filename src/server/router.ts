import type { IncomingMessage, ServerResponse } from 'node:http';
import { SemsearchError } from '../errors.js';
import { corsPolicy, hostChecker } from './access.js';
import { bearerChecker, type AuthResult } from './auth.js';
import type { Batcher } from './batcher.js';
import { CancelFlag, cancelError, type CancelReason } from './cancel.js';
import { httpError, toHttpError, type HttpError } from './http-errors.js';
import type { Job, JobResult } from './inference.js';
import type { Metrics } from './metrics.js';
import type { ServerConfig } from './options.js';
import { parseJson, readBody } from './request-body.js';
import { send, sendError, type SendOptions } from './respond.js';
import type { ServerState } from './state.js';

/** What a GET route answers: a 200 with its body (JSON unless `type` says otherwise), or an HttpError. */
export interface GetAnswer {
  status: number;
  body: unknown;
  type?: string;
}

export interface GetRoute {
  method: 'GET';
  get(): GetAnswer;
}

/** A POST route turns the request body into the job the workers run; it throws a SemsearchError for a body it refuses. */
export interface PostRoute {
  method: 'POST';
  job(body: unknown): Job;
  /** The response body from the job's result, for routes that speak another API's shape (default: the result and took_ms). */
  answer?(value: Record<string, unknown>, body: unknown): unknown;
  /** An error in that API's shape (default: semsearch's {"error": {code, message, field}}). */
  fail?(h: HttpError): { status: number; body: unknown };
  /** A write route: it needs the server's bearer token when the server has one. */
  write?: boolean;
}

/** A DELETE route on a path with one parameter (`/documents/{id}`): the decoded parameter becomes the job. */
export interface DeleteRoute {
  method: 'DELETE';
  job(param: string): Job;
  write?: boolean;
}

export type Route = GetRoute | PostRoute | DeleteRoute;

/** The route pattern a path matches: itself, or `<prefix>/{param}` for one non-empty segment after a pattern's prefix. */
function routeOf(routes: Record<string, Route>, path: string): { key: string; route: Route; param?: string; badParam?: string } | undefined {
  const exact = routes[path];
  if (exact !== undefined) return { key: path, route: exact };
  const cut = path.lastIndexOf('/');
  const key = `${path.slice(0, cut)}/{id}`;
  const route = cut > 0 ? routes[key] : undefined;
  const raw = path.slice(cut + 1);
  if (route === undefined || raw === '') return undefined;
  let param: string;
  try {
    param = decodeURIComponent(raw);
  } catch {
    // Percent-escapes that are not UTF-8 (%ED%A0%80, a lone surrogate; %FF): an id no document can have, said so.
    return { key, route, badParam: raw };
  }
  return { key, route, param };
}

/** The search page's files by path, read once at start. */
export type Page = Record<string, { type: string; body: Buffer; headers: Record<string, string> }>;

export interface RouterParts {
  routes: Record<string, Route>;
  page: Page;
  state: ServerState;
  batcher: Batcher;
  metrics: Metrics;
  config: Pick<ServerConfig, 'host' | 'allowedHosts' | 'corsOrigins' | 'limits' | 'log' | 'requestTimeoutMs'> & Partial<Pick<ServerConfig, 'token'>>;
}

function unwrap(r: JobResult): Record<string, unknown> {
  if (r.ok) return r.value;
  throw new SemsearchError(r.error.code, r.error.message, r.error.field !== undefined ? { field: r.error.field } : {});
}

function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '(invalid)';
  }
}

/** Answers every request of one server: access checks, the page, the API routes, and the metrics of each. */
export class Router {
  private readonly hostAllowed: (header: string | undefined) => boolean;
  private readonly corsHeaders: (req: IncomingMessage) => Record<string, string>;

  private readonly auth: ((header: string | undefined) => AuthResult) | undefined;

  constructor(private readonly parts: RouterParts) {
    this.hostAllowed = hostChecker(parts.config.host, parts.config.allowedHosts);
    this.corsHeaders = corsPolicy(parts.config.corsOrigins);
    this.auth = parts.config.token !== undefined ? bearerChecker(parts.config.token) : undefined;
  }

  /** The HTTP server's request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const { routes, page, state, metrics, config } = this.parts;
    const t0 = performance.now();
    state.requestStarted(res);
    const path = pathOf(req);
    // Metrics label by route, never by the path a client sent, so a scanner cannot grow the series.
    const label = routeOf(routes, path)?.key ?? (page[path] !== undefined ? '/' : 'other');
    res.once('close', () => {
      metrics.requests.inc({ route: label, method: ['GET', 'POST', 'HEAD', 'DELETE'].includes(req.method ?? '') ? (req.method as string) : 'other', status: String(res.statusCode) });
      metrics.latency.observe((performance.now() - t0) / 1000, { route: label });
      state.requestEnded(res);
    });
    this.handle(req, res, path).catch((e: unknown) => {
      config.log(`semsearch serve: ${path} failed: ${(e as Error)?.stack ?? String(e)}`);
      this.sendError(res, toHttpError(e));
    });
  };

  private send(res: ServerResponse, status: number, body: unknown, options: Omit<SendOptions, 'closing'> = {}): void {
    send(res, status, body, { ...options, closing: this.parts.state.closing });
  }

  private sendError(res: ServerResponse, h: GetAnswer, headers: Record<string, string> = {}): void {
    sendError(res, h, { headers, closing: this.parts.state.closing });
  }

  private async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!this.hostAllowed(req.headers.host)) {
      this.sendError(res, httpError('HOST_NOT_ALLOWED', `this server does not answer to Host ${String(req.headers.host ?? '(none)').slice(0, 100)}; start it with --allowed-host for that name`));
      return;
    }
    const allowOrigin = this.corsHeaders(req);
    for (const [k, v] of Object.entries(allowOrigin)) res.setHeader(k, v);
    if (req.method === 'OPTIONS') {
      // A CORS preflight: allowed origins learn what they may send; others get no CORS headers.
      const pre = Object.keys(allowOrigin).length > 0 ? { 'Access-Control-Allow-Methods': 'GET, POST, DELETE', 'Access-Control-Allow-Headers': 'Content-Type, Authorization', 'Access-Control-Max-Age': '600' } : {};
      res.writeHead(204, { ...pre, 'Content-Length': '0' });
      res.end();
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const asset = this.parts.page[path];
    if (asset !== undefined && method === 'GET') {
      this.send(res, 200, asset.body, { headers: asset.headers, type: asset.type });
      return;
    }
    const found = routeOf(this.parts.routes, path);
    if (found === undefined) {
      this.sendError(res, httpError('ROUTE_NOT_FOUND', `no endpoint at ${path.slice(0, 200)}; see /openapi.json`));
      return;
    }
    const { route } = found;
    if (route.method !== method) {
      this.sendError(res, httpError('METHOD_NOT_ALLOWED', `${path.slice(0, 200)} takes ${route.method}, got ${String(req.method).slice(0, 20)}`), {
        Allow: route.method === 'GET' ? 'GET, HEAD' : route.method,
      });
      return;
    }
    if (route.method !== 'GET' && route.write === true && this.auth !== undefined) {
      const auth = this.auth(req.headers.authorization);
      if (auth !== 'ok') {
        // Before the body is read: a client without the token costs the server no parsing. RFC 6750's challenge.
        const message = auth === 'missing' ? `${route.method} ${found.key} needs this server's token: send Authorization: Bearer <token>` : 'the bearer token sent is not this server\'s';
        this.sendError(res, httpError('UNAUTHORIZED', message), {
          'WWW-Authenticate': auth === 'missing' ? 'Bearer realm="semsearch"' : 'Bearer realm="semsearch", error="invalid_token"',
          Connection: 'close',
        });
        return;
      }
    }
    if (route.method === 'DELETE') {
      if (found.badParam !== undefined) {
        this.sendError(res, httpError('INVALID_ENCODING', `the id in ${path.slice(0, 200)} is not percent-encoded UTF-8: ids are well-formed Unicode, sent as UTF-8 bytes`, 'id'));
        return;
      }
      await this.run(res, path, () => route.job(found.param ?? ''), performance.now());
      return;
    }
    if (route.method === 'GET') {
      const r = route.get();
      if (r.status === 200) this.send(res, 200, r.body, { type: r.type });
      else this.sendError(res, r);
      return;
    }
    await this.post(req, res, path, route);
  }

  private async post(req: IncomingMessage, res: ServerResponse, path: string, route: PostRoute): Promise<void> {
    const { state, config } = this.parts;
    if (state.closing) {
      this.sendError(res, httpError('SERVER_NOT_READY', 'the server is shutting down'));
      return;
    }
    const started = performance.now();
    let body: unknown;
    try {
      body = parseJson(await readBody(req, config.limits.maxBodyBytes), req.headers['content-type']);
    } catch (e) {
      const h = toHttpError(e);
      // The rest of an oversized body is not read: close the connection rather than parse it as a next request.
      this.sendError(res, route.fail?.(h) ?? h, h.status === 413 ? { Connection: 'close' } : {});
      return;
    }
    await this.run(res, path, () => route.job(body), started, route, body);
  }

  /**
   * Queue a request's job for the workers and answer with its result (or its error). The request is stopped when its
   * client hangs up (no answer: nobody reads it) or its deadline passes (504 DEADLINE_EXCEEDED, sent at once): taken
   * out of the queue if it waits there, else its cancel flag tells the worker to stop between batches. Writes have
   * no deadline: one that has started runs to its commit, so a 504 never hides a write that went through.
   */
  private async run(res: ServerResponse, path: string, job: () => Job, started: number, route?: PostRoute, body?: unknown): Promise<void> {
    const { state, batcher, metrics, config } = this.parts;
    if (state.closing) {
      this.sendError(res, httpError('SERVER_NOT_READY', 'the server is shutting down'));
      return;
    }
    let value: Record<string, unknown>;
    const control = new AbortController();
    const flag = new CancelFlag();
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const cancel = (reason: CancelReason, timeoutMs?: number): void => {
      if (settled || !flag.set(reason)) return;
      metrics.cancelled.inc({ reason });
      control.abort(cancelError(reason, timeoutMs));
    };
    const onClose = (): void => {
      if (!res.writableEnded) cancel('client_gone');
    };
    res.once('close', onClose);
    try {
      const work = job();
      const write = work.kind === 'upsert' || work.kind === 'delete';
      if (!write) {
        // The request's own timeout_ms, capped by the server's.
        const timeoutMs = Math.min(work.timeoutMs ?? config.requestTimeoutMs, config.requestTimeoutMs);
        timer = setTimeout(() => cancel('deadline', timeoutMs), Math.max(0, timeoutMs - (performance.now() - started)));
      }
      const submitted = batcher.submit({ ...work, cancel: flag.cell }, control.signal);
      // Answered at the deadline even while the worker finishes its batch; its late result is dropped.
      submitted.catch(() => undefined);
      const stopped = new Promise<never>((_, reject) => {
        if (control.signal.aborted) reject(control.signal.reason);
        control.signal.addEventListener('abort', () => reject(control.signal.reason), { once: true });
      });
      stopped.catch(() => undefined);
      value = unwrap(await Promise.race([submitted, stopped]));
    } catch (e) {
      if (control.signal.aborted && (control.signal.reason as { code?: string } | undefined)?.code === 'CLIENT_GONE') return;
      const h = toHttpError(e);
      if (h.body.error.code === 'SERVER_BUSY') metrics.rejected.inc();
      if (h.status >= 500 && h.status !== 503 && h.status !== 504) config.log(`semsearch serve: ${path} failed: ${(e as Error)?.stack ?? String(e)}`);
      this.sendError(res, route?.fail?.(h) ?? h);
      return;
    } finally {
      settled = true;
      clearTimeout(timer);
      res.off('close', onClose);
    }
    const t = performance.now();
    if (route?.answer !== undefined) this.send(res, 200, route.answer(value, body));
    else this.send(res, 200, { ...value, took_ms: Number((t - started).toFixed(3)) });
    metrics.stages.observe((performance.now() - t) / 1000, { stage: 'serialize' });
  }
}
