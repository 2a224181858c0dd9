/**
 * One table of every error semsearch raises. A caller branches on `code`, never on the message text;
 * the message always names the file, field or argument at fault so a user can fix it without a debugger.
 */
export const ERROR_CODES = {
  // arguments and inputs
  INVALID_ARGUMENT: 'An argument has the wrong type or value',
  EMPTY_INPUT: 'An input list is empty',
  // evaluation inputs (qrels, runs, topics, corpora)
  FILE_NOT_FOUND: 'An input file does not exist or cannot be read',
  FILE_WRITE_FAILED: 'An output file cannot be written',
  MALFORMED_LINE: 'A line or record of an input file has the wrong number of fields or a value that cannot be parsed',
  INVALID_ENCODING: 'Text is not well-formed: an input file that is not valid UTF-8, or a string (an id, a text) holding a lone UTF-16 surrogate; semsearch replaces nothing',
  DUPLICATE_ENTRY: 'An input file lists the same query, document or query-document pair twice',
  UNKNOWN_QUERY: 'A run or judgment names a query that the given topics do not have',
  MISSING_TEXT: 'A query or document to encode has no text in the given queries or collection',
  // model folders
  MODEL_NOT_FOUND: 'The model folder or a required file in it does not exist',
  CONFIG_MISSING: 'A required configuration file is missing',
  CONFIG_INVALID: 'A configuration file is not valid JSON or lacks a required field',
  UNSUPPORTED_MODEL: 'The model type or module is not supported',
  UNSUPPORTED_POOLING: 'The pooling mode is not supported',
  TOKENIZER_INVALID: 'The tokenizer files cannot be read or use an unsupported component',
  ONNX_MISSING: 'The ONNX file for the transformer is missing',
  ONNX_INVALID: 'The ONNX file cannot be loaded',
  ONNX_RUN_FAILED: 'ONNX Runtime failed while running the model',
  MODEL_DISPOSED: 'The model was disposed',
  DEVICE_UNAVAILABLE: "The device asked for cannot run the model here: ONNX Runtime's CUDA provider, or the CUDA and cuDNN libraries it loads, are not installed (the message names the missing file and the install command)",
  // quantization and scoring
  SHAPE_MISMATCH: 'Two matrices do not have compatible shapes',
  QUANTIZATION_INVALID: 'Quantization ranges or precision are invalid',
  // indexes
  INDEX_NOT_FOUND: 'The folder is not a semsearch index',
  INDEX_CORRUPT: 'An index file is missing, truncated or fails its checksum',
  INDEX_MISMATCH: 'The index was built with another model, precision or corpus',
  INDEX_LOCKED: 'Another process is writing the index; one writer at a time',
  INDEX_READ_ONLY: 'The index folder cannot be written (a read-only mount, or no write permission): a write (add, delete, compact, or what an unfinished build or a store in WAL mode needs) was refused and the index is as it was',
  DISK_FULL: 'The disk (or the disk quota) holding the index or output is full: the write stopped before its commit and the index is as it was; free space and run it again',
  TOO_MANY_FIELDS: 'A write would give an index more metadata fields than it may hold (256), or a request names more fields than that',
  CORPUS_CHANGED: 'The corpus no longer matches what a partial index was built from',
  EMPTY_PASSAGE: 'A passage has no text',
  UNKNOWN_DOCUMENT: 'A delete names a document id the index does not hold',
  METADATA_INVALID: 'A metadata field has a value of the wrong type, or a name or value semsearch cannot store',
  FILTER_INVALID: 'A search filter names an unknown field, uses an unknown operator or compares with a value of the wrong type',
  // search backends (an OpenSearch cluster)
  BACKEND_UNAVAILABLE: 'The search backend (an OpenSearch cluster) could not be reached, did not answer in time, or kept refusing a write as busy or unavailable',
  BACKEND_ERROR: 'The search backend answered a request with an error semsearch cannot recover from (the message gives its reason)',
  // hub downloads
  HUB_NOT_FOUND: 'The repository, revision or file does not exist on the hub',
  HUB_UNAUTHORIZED: 'The hub refused access: the repository is private or gated, or the token is invalid',
  HUB_OFFLINE_MISSING: 'Offline mode is on and a needed file is not in the local cache',
  HUB_HASH_MISMATCH: 'A downloaded file does not match the size or sha256 the hub announced',
  HUB_HTTP_ERROR: 'The hub answered with an HTTP error or a response semsearch cannot use',
  HUB_NETWORK_ERROR: 'The hub could not be reached or did not answer in time',
  // HTTP server (semsearch serve): each maps to one HTTP status in src/server/http-errors.ts
  INVALID_JSON: 'A request body is not valid JSON',
  REQUEST_TOO_LARGE: 'A request body is larger than the server accepts',
  LIMIT_EXCEEDED: 'A request or write batch exceeds a limit: number of texts or documents, text length or k',
  UNSUPPORTED_MEDIA_TYPE: 'A request body is not sent as application/json',
  ROUTE_NOT_FOUND: 'No endpoint has this path',
  METHOD_NOT_ALLOWED: 'The endpoint does not accept this HTTP method',
  SERVER_BUSY: 'The request queue is full; retry after the Retry-After delay',
  SERVER_NOT_READY: 'The model is still loading, or the server is shutting down',
  CLIENT_GONE: 'The client closed the connection before its request was answered; its work was dropped or stopped',
  HOST_NOT_ALLOWED: 'The Host header names neither the address the server listens on nor a name it was told to answer to',
  REQUEST_TIMEOUT: 'The client did not send a whole request in time',
  UNAUTHORIZED: 'A write endpoint needs the server\'s bearer token (Authorization: Bearer <token>) and the request sent none or another',
  UNPROTECTED_WRITES: 'The server would accept writes on an address other machines can reach without a token: give a token, serve read-only, or say insecure writes are meant',
  SERVER_LISTEN_FAILED: 'The server cannot listen on the host and port asked for (in use, not allowed, or not an address here)',
  INTERNAL_ERROR: 'semsearch (the server, or a command) failed for a reason that is not the request\'s, the input\'s or the index\'s fault',
  // cancellation (an AbortSignal in the library, a disconnect or a deadline in the server)
  CANCELLED: 'The call was cancelled through its AbortSignal; it stopped between batches',
  DEADLINE_EXCEEDED: "A request ran past its deadline (the server's request timeout, or the request's timeout_ms) and was stopped",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface SemsearchErrorDetails {
  /** File the problem is in, when there is one. */
  file?: string;
  /** Line number (1-based) within `file`. */
  line?: number;
  /** Field, option or argument name at fault. */
  field?: string;
  /** The lower-level error, kept for debugging but never shown as a stack to end users. */
  cause?: unknown;
}

export class SemsearchError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, details: SemsearchErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SemsearchError';
    this.code = code;
    this.file = details.file;
    this.line = details.line;
    this.field = details.field;
  }

  toJSON(): { code: ErrorCode; message: string; file?: string; line?: number; field?: string } {
    const out: { code: ErrorCode; message: string; file?: string; line?: number; field?: string } = {
      code: this.code,
      message: this.message,
    };
    if (this.file !== undefined) out.file = this.file;
    if (this.line !== undefined) out.line = this.line;
    if (this.field !== undefined) out.field = this.field;
    return out;
  }
}

export function isSemsearchError(e: unknown, code?: ErrorCode): e is SemsearchError {
  return e instanceof SemsearchError && (code === undefined || e.code === code);
}

/**
 * What a long call can be stopped with: an AbortSignal, or any object with its `aborted` and `reason` (a server
 * worker reads a flag in shared memory that way). It is read between batches, never in the middle of one.
 */
export type CancelSignal = Pick<AbortSignal, 'aborted' | 'reason'>;

/**
 * Throw when `signal` is aborted: its reason when that is already a SemsearchError (a server's CLIENT_GONE or
 * DEADLINE_EXCEEDED), else CANCELLED naming `what`, with the reason as its cause.
 */
export function throwIfCancelled(signal: CancelSignal | undefined, what: string): void {
  if (signal === undefined || !signal.aborted) return;
  const reason: unknown = signal.reason;
  if (reason instanceof SemsearchError) throw reason;
  const why = reason instanceof Error && reason.name === 'TimeoutError' ? ' (its signal timed out)' : '';
  throw new SemsearchError('CANCELLED', `${what} was cancelled${why}`, { cause: reason });
}
