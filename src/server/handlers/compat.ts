// The embedding APIs clients already speak: OpenAI's POST /v1/embeddings and GET /v1/models, and Hugging Face
// text-embeddings-inference's POST /embed and (with a cross-encoder, --cross-encoder) POST /rerank. Same workers and
// batching as /encode; requests, answers and errors in those APIs' shapes.
import { SemsearchError } from '../../errors.js';
import type { HttpError } from '../http-errors.js';
import type { Job } from '../inference.js';
import { servedModelId } from '../model-id.js';
import type { GetRoute, PostRoute } from '../router.js';
import type { Limits } from '../schemas.js';
import type { ServerState } from '../state.js';


function bad(field: string, message: string, code: 'INVALID_ARGUMENT' | 'LIMIT_EXCEEDED' | 'EMPTY_INPUT' = 'INVALID_ARGUMENT'): never {
  throw new SemsearchError(code, `${field}: ${message}`, { field });
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Texts, or token id lists, from OpenAI's `input` / TEI's `inputs`: a string, strings, token ids, or lists of them. */
function inputsOf(v: unknown, field: string, limits: Limits, ids: boolean): { texts?: string[]; tokenIds?: number[][] } {
  if (typeof v === 'string') return { texts: [v] };
  if (!Array.isArray(v) || v.length === 0) bad(field, `must be a string or a non-empty array${ids ? ' of strings or token ids' : ' of strings'}`, Array.isArray(v) ? 'EMPTY_INPUT' : 'INVALID_ARGUMENT');
  const list = v as unknown[];
  if (ids && list.every((x) => typeof x === 'number')) return { tokenIds: [list as number[]] };
  if (list.length > limits.maxTexts) bad(field, `holds ${list.length} inputs; the server takes at most ${limits.maxTexts} per request`, 'LIMIT_EXCEEDED');
  if (list.every((x) => typeof x === 'string')) {
    list.forEach((t, i) => {
      if ((t as string).length > limits.maxTextChars) bad(`${field}[${i}]`, `is ${(t as string).length} characters; the server takes at most ${limits.maxTextChars}`, 'LIMIT_EXCEEDED');
    });
    return { texts: list as string[] };
  }
  if (ids && list.every((x) => Array.isArray(x))) {
    list.forEach((t, i) => {
      if ((t as unknown[]).length > limits.maxTextChars) bad(`${field}[${i}]`, `holds ${(t as unknown[]).length} token ids; the server takes at most ${limits.maxTextChars}`, 'LIMIT_EXCEEDED');
    });
    return { tokenIds: list as number[][] };
  }
  return bad(field, ids ? 'must be strings, or token id arrays, not a mixture' : 'must be strings');
}

function checkModel(model: unknown, state: ServerState): void {
  if (model === undefined || model === null) return;
  if (typeof model !== 'string') bad('model', 'must be a string');
  const served = state.summary?.model;
  if (served !== undefined && model !== served && model !== servedModelId(served)) {
    throw new SemsearchError('ROUTE_NOT_FOUND', `the model ${model} is not served here; GET /v1/models lists ${servedModelId(served)}`, { field: 'model' });
  }
}

/** The rows an embed job returned, as arrays of numbers. */
function rowsOf(value: Record<string, unknown>): { rows: Float32Array[]; tokens: number[] } {
  const data = value.data as Float32Array;
  const dim = value.dim as number;
  const rows: Float32Array[] = [];
  for (let i = 0; i < data.length; i += dim) rows.push(data.subarray(i, i + dim));
  return { rows, tokens: value.tokens as number[] };
}

/** OpenAI's error shape; the semsearch code goes in `code`, the field in `param`. */
function openAiError(h: HttpError): { status: number; body: unknown } {
  const { code, message, field } = h.body.error;
  const type = h.status >= 500 ? 'server_error' : 'invalid_request_error';
  const c = code === 'ROUTE_NOT_FOUND' && field === 'model' ? 'model_not_found' : code;
  return { status: h.status, body: { error: { message, type, param: field ?? null, code: c } } };
}

/** text-embeddings-inference's error shape and statuses: 413 validation, 422 tokenizer, 429 overloaded, 424 backend. */
function teiError(h: HttpError): { status: number; body: unknown } {
  const { code, message } = h.body.error;
  if (code === 'SERVER_BUSY') return { status: 429, body: { error: message, error_type: 'overloaded' } };
  if (h.status === 503) return { status: 503, body: { error: message, error_type: 'unhealthy' } };
  if (h.status >= 500) return { status: 424, body: { error: message, error_type: 'backend' } };
  if (code === 'LIMIT_EXCEEDED' || code === 'REQUEST_TOO_LARGE') return { status: 413, body: { error: message, error_type: 'validation' } };
  return { status: 422, body: { error: message, error_type: 'validation' } };
}

export function compatRoutes(limits: Limits, state: ServerState): Record<string, PostRoute | GetRoute> {
  const embeddings: PostRoute = {
    method: 'POST',
    job: (body): Job => {
      if (!isObject(body)) bad('body', 'must be a JSON object');
      for (const k of Object.keys(body)) if (!['input', 'model', 'encoding_format', 'dimensions', 'user'].includes(k)) bad(k, 'is not a field of an embeddings request');
      checkModel(body.model, state);
      const format = body.encoding_format ?? 'float';
      if (format !== 'float' && format !== 'base64') bad('encoding_format', `must be "float" or "base64", got ${JSON.stringify(format)}`);
      if (body.dimensions !== undefined && body.dimensions !== state.summary?.dim) {
        bad('dimensions', `this model gives ${state.summary?.dim ?? 'its own number of'} dimensions and cannot shorten them`);
      }
      if (body.input === undefined) bad('input', 'is required');
      return { kind: 'embed', ...inputsOf(body.input, 'input', limits, true), normalize: false, truncate: true };
    },
    answer: (value, body) => {
      const { rows, tokens } = rowsOf(value);
      const base64 = isObject(body) && body.encoding_format === 'base64';
      const max = state.summary?.maxSeqLength ?? Infinity;
      const used = tokens.reduce((n, t) => n + Math.min(t, max), 0);
      return {
        object: 'list',
        data: rows.map((r, index) => ({
          object: 'embedding',
          index,
          embedding: base64 ? Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('base64') : Array.from(r),
        })),
        model: servedModelId(state.summary?.model ?? ''),
        usage: { prompt_tokens: used, total_tokens: used },
      };
    },
    fail: openAiError,
  };
  const embed: PostRoute = {
    method: 'POST',
    job: (body): Job => {
      if (!isObject(body)) bad('body', 'must be a JSON object');
      for (const k of Object.keys(body)) if (!['inputs', 'normalize', 'truncate', 'truncation_direction', 'prompt_name'].includes(k)) bad(k, 'is not a field of an embed request');
      if (body.prompt_name !== undefined && body.prompt_name !== null && (typeof body.prompt_name !== 'string' || body.prompt_name === '')) bad('prompt_name', "must name one of the model's prompts");
      if (body.normalize !== undefined && typeof body.normalize !== 'boolean') bad('normalize', 'must be true or false');
      if (body.truncate !== undefined && typeof body.truncate !== 'boolean') bad('truncate', 'must be true or false');
      if (body.truncation_direction !== undefined && body.truncation_direction !== 'Right' && body.truncation_direction !== 'right') {
        bad('truncation_direction', 'only "Right" is supported (sentence-transformers cuts the end)');
      }
      if (body.inputs === undefined) bad('inputs', 'is required');
      // TEI's defaults: embeddings normalised, over-long inputs refused.
      return { kind: 'embed', ...inputsOf(body.inputs, 'inputs', limits, false), normalize: body.normalize !== false, truncate: body.truncate === true, ...(typeof body.prompt_name === 'string' ? { promptName: body.prompt_name } : {}) };
    },
    answer: (value) => rowsOf(value).rows.map((r) => Array.from(r)),
    fail: teiError,
  };
  const rerank: PostRoute = {
    method: 'POST',
    job: (body): Job => {
      if (!isObject(body)) bad('body', 'must be a JSON object');
      for (const k of Object.keys(body)) if (!['query', 'texts', 'raw_scores', 'return_text', 'truncate', 'truncation_direction'].includes(k)) bad(k, 'is not a field of a rerank request');
      if (typeof body.query !== 'string') bad('query', 'must be a string');
      if ((body.query as string).length > limits.maxTextChars) bad('query', `is ${(body.query as string).length} characters; the server takes at most ${limits.maxTextChars}`, 'LIMIT_EXCEEDED');
      for (const k of ['raw_scores', 'return_text', 'truncate'] as const) if (body[k] !== undefined && typeof body[k] !== 'boolean') bad(k, 'must be true or false');
      if (body.truncation_direction !== undefined && body.truncation_direction !== 'Right' && body.truncation_direction !== 'right') {
        bad('truncation_direction', 'only "Right" is supported (sentence-transformers cuts the end)');
      }
      if (body.texts === undefined) bad('texts', 'is required');
      const { texts } = inputsOf(body.texts, 'texts', limits, false);
      if ((texts as string[]).length > limits.maxRerankPairs) {
        bad('texts', `holds ${(texts as string[]).length} texts; the server re-ranks at most ${limits.maxRerankPairs} pairs per request (maxRerankPairs)`, 'LIMIT_EXCEEDED');
      }
      // TEI's defaults: scores through the model's activation, over-long pairs refused.
      return { kind: 'rerank', query: body.query as string, texts: texts as string[], raw: body.raw_scores === true, truncate: body.truncate === true };
    },
    answer: (value, body) => {
      const texts = (body as { texts: string[] | string }).texts;
      const list = typeof texts === 'string' ? [texts] : texts;
      const withText = (body as { return_text?: boolean }).return_text === true;
      return (value.ranks as { index: number; score: number }[]).map((r) => ({ index: r.index, ...(withText ? { text: list[r.index] } : {}), score: r.score }));
    },
    fail: teiError,
  };
  const models: GetRoute = {
    method: 'GET',
    get: () => {
      if (state.summary === undefined) return { status: 503, body: { error: { message: 'the model is loading', type: 'server_error', param: null, code: 'SERVER_NOT_READY' } } };
      return { status: 200, body: { object: 'list', data: [{ id: servedModelId(state.summary.model), object: 'model', created: 0, owned_by: 'semsearch' }] } };
    },
  };
  return { '/v1/embeddings': embeddings, '/v1/models': models, '/embed': embed, '/rerank': rerank };
}
