import { Client, errors } from '@opensearch-project/opensearch';
import { SemsearchError } from '../errors.js';

export interface ConnectOptions {
  /** The cluster's address, e.g. http://127.0.0.1:9200 (several, comma-separated, spread the requests). */
  url: string;
  /** Per-request timeout in ms (default 60,000). */
  requestTimeoutMs?: number;
  /** Basic auth, when the cluster has the security plugin. */
  username?: string;
  password?: string;
}

/** Statuses a bulk item or request may meet while a node restarts or the cluster is busy: retried. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);

/**
 * Error types a node's loss or restart gives, whatever their HTTP status (a write routed to a node that just died is
 * a 500 node_not_connected_exception): the operation is retried once the cluster has the shard again.
 */
const TRANSIENT_TYPES = /node_not_connected|node_disconnected|connect_transport|no_shard_available|unavailable_shards|node_closed|primary_missing|cluster_block|es_rejected_execution|opensearch_rejected_execution|circuit_breaking/;

/** Whether a failed operation (status and error body) may succeed when sent again. */
export function isTransient(status: number, error: unknown): boolean {
  return TRANSIENT_STATUSES.has(status) || TRANSIENT_TYPES.test(JSON.stringify(error ?? ''));
}

export interface Answer<T> {
  status: number;
  body: T;
}

/**
 * One OpenSearch cluster, through the ecosystem's client: plain REST calls, with the client's errors turned into
 * semsearch's codes (BACKEND_UNAVAILABLE when no node answers, BACKEND_ERROR with the cluster's own reason).
 */
export class OpenSearchConnection {
  readonly url: string;
  readonly client: Client;

  constructor(options: ConnectOptions) {
    if (typeof options.url !== 'string' || !/^https?:\/\//.test(options.url)) {
      throw new SemsearchError('INVALID_ARGUMENT', `url must be an http(s) address of an OpenSearch node, got ${JSON.stringify(options.url)}`, { field: 'url' });
    }
    this.url = options.url;
    const nodes = options.url.split(',').map((u) => u.trim());
    this.client = new Client({
      nodes,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      // Retries are semsearch's (push resumes, bulk items are retried one by one); a hidden retry of a whole bulk
      // would only resend what the cluster already took.
      maxRetries: 0,
      ...(options.username !== undefined ? { auth: { username: options.username, password: options.password ?? '' } } : {}),
    });
  }

  /** A REST call; `ignore` lists statuses answered rather than thrown (404 for "is it there?"). */
  async request<T = Record<string, unknown>>(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD',
    path: string,
    body?: unknown,
    options: { query?: Record<string, string | number | boolean>; ndjson?: string; ignore?: number[]; timeoutMs?: number } = {},
  ): Promise<Answer<T>> {
    try {
      const r = await this.client.transport.request(
        {
          method,
          path,
          ...(options.ndjson !== undefined ? { bulkBody: options.ndjson } : body !== undefined ? { body: body as Record<string, unknown> } : {}),
          ...(options.query !== undefined ? { querystring: options.query } : {}),
        },
        { ...(options.ignore !== undefined ? { ignore: options.ignore } : {}), ...(options.timeoutMs !== undefined ? { requestTimeout: options.timeoutMs } : {}) },
      );
      return { status: r.statusCode ?? 200, body: r.body as T };
    } catch (e) {
      throw backendError(e, `${method} ${path}`, this.url);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** The cluster's reason for a failed call, from its error body. */
export function reasonOf(body: unknown): string {
  const b = body as { error?: { type?: string; reason?: string; root_cause?: { type?: string; reason?: string }[] } | string } | undefined;
  if (typeof b?.error === 'string') return b.error;
  const root = b?.error?.root_cause?.[0];
  const e = root ?? b?.error;
  if (e?.type !== undefined) return `${e.type}: ${e.reason ?? ''}`.trim();
  return JSON.stringify(body ?? '').slice(0, 300);
}

export function backendError(e: unknown, what: string, url: string): SemsearchError {
  if (e instanceof SemsearchError) return e;
  if (e instanceof errors.ResponseError) {
    const status = e.meta.statusCode ?? 0;
    const code = isTransient(status, e.meta.body) ? 'BACKEND_UNAVAILABLE' : 'BACKEND_ERROR';
    return new SemsearchError(code, `OpenSearch at ${url} refused ${what} (HTTP ${status}): ${reasonOf(e.meta.body)}`, { field: 'url', cause: e });
  }
  if (e instanceof errors.ConnectionError || e instanceof errors.TimeoutError || e instanceof errors.NoLivingConnectionsError) {
    return new SemsearchError('BACKEND_UNAVAILABLE', `OpenSearch at ${url} did not answer ${what}: ${(e as Error).message}`, { field: 'url', cause: e });
  }
  return new SemsearchError('BACKEND_ERROR', `OpenSearch at ${url} failed on ${what}: ${(e as Error)?.message ?? String(e)}`, { field: 'url', cause: e });
}
