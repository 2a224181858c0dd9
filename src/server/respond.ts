import type { ServerResponse } from 'node:http';
import type { HttpError } from './http-errors.js';

const JSON_TYPE = 'application/json; charset=utf-8';

export interface SendOptions {
  headers?: Record<string, string>;
  type?: string;
  /** The server is shutting down: tell the client not to reuse the connection. */
  closing?: boolean;
}

/** Write a whole response; a body that is not a string or Buffer is sent as JSON. */
export function send(res: ServerResponse, status: number, body: unknown, { headers = {}, type = JSON_TYPE, closing = false }: SendOptions = {}): void {
  // The request may have failed after its answer went out, or the client be gone: nothing left to write to.
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

/** Send an error (an HttpError, or a route's answer that is not a 200); a 503 tells the client when to retry. */
export function sendError(res: ServerResponse, h: Pick<HttpError, 'status'> & { body: unknown }, { headers = {}, closing = false }: Omit<SendOptions, 'type'> = {}): void {
  send(res, h.status, h.body, { headers: { ...(h.status === 503 ? { 'Retry-After': '1' } : {}), ...headers }, closing });
}
