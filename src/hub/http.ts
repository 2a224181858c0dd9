import { setTimeout as sleep } from 'node:timers/promises';
import { SemsearchError } from '../errors.js';

/**
 * One HTTP exchange with the hub or its CDN, the way huggingface_hub does it: retries with exponential backoff on
 * 429, 5xx, dropped connections and timeouts; redirects handled by hand so the token goes to the hub's own host and
 * never to the CDN (whose signed URLs need none, and which must not see it).
 */
export interface HttpSettings {
  /** The hub's base URL: the only origin that ever receives the token. */
  endpoint: string;
  token: string | undefined;
  /** How long to wait for response headers, in ms. */
  timeoutMs: number;
  /** Attempts after the first one, for a retryable failure. */
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_RETRY = { retries: 5, retryBaseMs: 1000, retryMaxMs: 8000 } as const;

export interface HubRequest {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /**
   * 'relative' follows only same-host redirects (a renamed repo) and returns a cross-host one (the CDN) to the caller,
   * as huggingface_hub's HEAD does; 'all' follows every redirect, for the download itself.
   */
  redirects: 'relative' | 'all';
  /** Names what is being fetched, for error messages: "file onnx/model.onnx of owner/name at main". */
  what: string;
  /** Error statuses the caller handles itself (416 for a resume past the end). */
  passStatuses?: readonly number[];
  timeoutMs?: number;
}

export interface HubResponse {
  response: Response;
  /** The URL that answered, after the redirects that were followed. */
  url: string;
  /** Aborts the body transfer; a download calls it when the body stalls. */
  abort: () => void;
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const MAX_REDIRECTS = 10;

/** The URL without its query: CDN URLs carry signatures that have no place in an error message or log. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}

export function sameHost(a: string, b: string): boolean {
  const ua = new URL(a);
  const ub = new URL(b);
  return ua.protocol === ub.protocol && ua.host === ub.host;
}

function userAgent(): string {
  return `semsearch; node/${process.versions.node}`;
}

function retryAfterMs(res: Response): number | undefined {
  const v = res.headers.get('retry-after');
  if (v === null) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function backoffMs(attempt: number, s: Pick<HttpSettings, 'retryBaseMs' | 'retryMaxMs'>): number {
  return Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** attempt);
}

function describeCause(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.cause?.code !== undefined) return err.cause.code;
  if (err.cause?.message !== undefined) return err.cause.message;
  return err.message ?? String(e);
}

/** A network failure that retrying cannot heal. */
class PermanentFailure extends Error {}

class Timeout {
  constructor(readonly ms: number) {}
}

async function sendOnce(url: string, s: HttpSettings, req: HubRequest): Promise<HubResponse> {
  const controller = new AbortController();
  const timeoutMs = req.timeoutMs ?? s.timeoutMs;
  const timer = setTimeout(() => controller.abort(new Timeout(timeoutMs)), timeoutMs);
  const headers: Record<string, string> = {
    'user-agent': userAgent(),
    // The real size is needed for resume offsets and size checks; a compressed body would break both.
    'accept-encoding': 'identity',
    ...req.headers,
  };
  if (s.token !== undefined && sameHost(url, s.endpoint)) headers.authorization = `Bearer ${s.token}`;
  try {
    const response = await fetch(url, { method: req.method ?? 'GET', headers, redirect: 'manual', signal: controller.signal });
    return { response, url, abort: () => controller.abort() };
  } catch (e) {
    if (controller.signal.reason instanceof Timeout) {
      throw new SemsearchError('HUB_NETWORK_ERROR', `${req.what}: ${displayUrl(url)} did not answer within ${timeoutMs / 1000} s`, { cause: e });
    }
    const cause = describeCause(e);
    // A name the resolver says does not exist will not exist in a second either: retrying only makes the user wait.
    const permanent = cause === 'ENOTFOUND';
    throw new SemsearchError('HUB_NETWORK_ERROR', `${req.what}: cannot reach ${displayUrl(url)} (${cause}${permanent ? ': the host name does not resolve' : ''})`, {
      cause: permanent ? new PermanentFailure(cause) : e,
    });
  } finally {
    clearTimeout(timer);
  }
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // The connection is being dropped anyway.
  }
}

async function followRedirects(url: string, s: HttpSettings, req: HubRequest): Promise<HubResponse> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const sent = await sendOnce(current, s, req);
    const { response } = sent;
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null) return sent;
    const next = new URL(location, current).toString();
    const relative = !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith('//');
    if (req.redirects === 'relative' && !relative) return sent;
    if (hop >= MAX_REDIRECTS) {
      await discard(response);
      throw new SemsearchError('HUB_HTTP_ERROR', `${req.what}: more than ${MAX_REDIRECTS} redirects from ${displayUrl(url)}`);
    }
    await discard(response);
    current = next;
  }
}

function hubErrorMessage(res: Response): string {
  const m = res.headers.get('x-error-message');
  return m === null ? '' : ` (${m})`;
}

/** The SemsearchError for a final error status, with the fix in the message. */
export function statusError(res: Response, url: string, s: HttpSettings, what: string, attempts: number): SemsearchError {
  const where = `${res.status} from ${displayUrl(url)}${hubErrorMessage(res)}`;
  if ((res.status === 401 || res.status === 403) && !sameHost(url, s.endpoint)) {
    return new SemsearchError(
      'HUB_UNAUTHORIZED',
      `${what}: ${where}. The file host refused the signed download link, which may have expired; run again to get a fresh one`,
    );
  }
  if (res.status === 401 || res.status === 403) {
    const tokenHint =
      s.token === undefined
        ? 'no token was sent: set HF_TOKEN or pass { token } with read access to it'
        : 'the token sent was refused: check that HF_TOKEN (or { token }) is valid and has access to it, and that gated models were accepted on the hub';
    return new SemsearchError(
      'HUB_UNAUTHORIZED',
      `${what}: ${where}. The repository is private, gated or does not exist; ${tokenHint}`,
      { field: 'token' },
    );
  }
  if (res.status === 404) {
    const code = res.headers.get('x-error-code');
    const kind =
      code === 'RevisionNotFound' ? 'the revision does not exist' : code === 'EntryNotFound' ? 'the file does not exist at this revision' : 'not found';
    return new SemsearchError('HUB_NOT_FOUND', `${what}: ${where}: ${kind}. Check the model name and revision`);
  }
  const retried = attempts > 1 ? ` after ${attempts} attempts` : '';
  return new SemsearchError('HUB_HTTP_ERROR', `${what}: ${where}${retried}. The hub may be down or rate-limiting; try again later`);
}

/**
 * Sends a request, retrying what huggingface_hub retries. Returns any success or redirect not followed, and the
 * statuses in `passStatuses`; throws a SemsearchError for everything else.
 */
export async function hubRequest(url: string, s: HttpSettings, req: HubRequest): Promise<HubResponse> {
  for (let attempt = 0; ; attempt++) {
    let sent: HubResponse;
    try {
      sent = await followRedirects(url, s, req);
    } catch (e) {
      const retryable = e instanceof SemsearchError && e.code === 'HUB_NETWORK_ERROR';
      if (!retryable) throw e;
      if (attempt >= s.retries || e.cause instanceof PermanentFailure) {
        throw new SemsearchError(
          'HUB_NETWORK_ERROR',
          `${e.message}${attempt > 0 ? ` (after ${attempt + 1} attempts)` : ''}. Check the connection and HF_ENDPOINT, ` +
            'set HF_HUB_OFFLINE=1 to use only what is already in the cache, or pass a local model folder (a sentence-transformers folder with onnx/model.onnx) instead of a hub name',
          { cause: e.cause },
        );
      }
      await sleep(backoffMs(attempt, s));
      continue;
    }
    const { response } = sent;
    if (response.status < 400 || req.passStatuses?.includes(response.status)) return sent;
    await discard(response);
    if (RETRY_STATUSES.has(response.status) && attempt < s.retries) {
      const wait = Math.max(backoffMs(attempt, s), Math.min(retryAfterMs(response) ?? 0, 60_000));
      await sleep(wait);
      continue;
    }
    throw statusError(response, sent.url, s, req.what, attempt + 1);
  }
}
