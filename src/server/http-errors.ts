import { isSemsearchError, type ErrorCode } from '../errors.js';

/** The HTTP status of each error code a response can carry; anything else is the server's fault (500). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  EMPTY_INPUT: 400,
  INVALID_JSON: 400,
  LIMIT_EXCEEDED: 400,
  SHAPE_MISMATCH: 400,
  QUANTIZATION_INVALID: 400,
  DUPLICATE_ENTRY: 400,
  EMPTY_PASSAGE: 400,
  METADATA_INVALID: 400,
  INVALID_ENCODING: 400,
  FILTER_INVALID: 400,
  UNKNOWN_DOCUMENT: 404,
  INDEX_LOCKED: 409,
  INDEX_READ_ONLY: 409,
  DISK_FULL: 507,
  TOO_MANY_FIELDS: 413,
  UNAUTHORIZED: 401,
  INDEX_MISMATCH: 409,
  REQUEST_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ROUTE_NOT_FOUND: 404,
  HOST_NOT_ALLOWED: 403,
  REQUEST_TIMEOUT: 408,
  CLIENT_GONE: 499,
  CANCELLED: 499,
  // The server stopped the request at its deadline: a gateway timeout, not the client's slowness (408).
  DEADLINE_EXCEEDED: 504,
  METHOD_NOT_ALLOWED: 405,
  SERVER_BUSY: 503,
  SERVER_NOT_READY: 503,
  BACKEND_UNAVAILABLE: 503,
  BACKEND_ERROR: 502,
};

export interface HttpError {
  status: number;
  body: { error: { code: ErrorCode; message: string; field?: string } };
}

export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

export function httpError(code: ErrorCode, message: string, field?: string): HttpError {
  return { status: statusOf(code), body: { error: { code, message, ...(field !== undefined ? { field } : {}) } } };
}

/**
 * What a client sees of a thrown error: a SemsearchError's code and message when the code is a client one,
 * otherwise a fixed INTERNAL_ERROR text. Never the stack, never a file path of the server.
 */
export function toHttpError(e: unknown): HttpError {
  if (isSemsearchError(e) && STATUS[e.code] !== undefined) return httpError(e.code, e.message, e.field);
  return httpError('INTERNAL_ERROR', 'the server failed to answer this request; the failure is logged on the server');
}
