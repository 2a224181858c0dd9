import { PRECISIONS } from '../tensor/quantize.js';
import type { ErrorCode } from '../errors.js';

/**
 * The subset of JSON Schema (2020-12, what OpenAPI 3.1 embeds) that the request and response bodies use.
 * The same objects are checked by `validate` and printed into /openapi.json, so the document cannot drift
 * from what the server enforces.
 */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, Schema>;
  required?: readonly string[];
  additionalProperties?: false;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: readonly (string | number | boolean)[];
  oneOf?: readonly Schema[];
  default?: unknown;
  examples?: readonly unknown[];
}

/** Server limits: every one of them appears in the request schemas as a maximum. */
export interface Limits {
  /** Request body size in bytes (413 above it). */
  maxBodyBytes: number;
  /** Texts in one list of a request: queries, texts, passages. */
  maxTexts: number;
  /** Characters in one text; longer than the model's window is truncated and reported, this bounds tokenizer work. */
  maxTextChars: number;
  /** Largest k for /search. */
  maxK: number;
}

export const DEFAULT_LIMITS: Limits = { maxBodyBytes: 1 << 20, maxTexts: 64, maxTextChars: 20_000, maxK: 100 };

export interface ValidationFailure {
  code: ErrorCode;
  field: string;
  message: string;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && Number.isInteger(v)) return 'integer';
  return typeof v;
}

function typeMatches(v: unknown, t: NonNullable<Schema['type']>): boolean {
  switch (t) {
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    default:
      return typeof v === t;
  }
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

// A maximum in these schemas is always a server limit, a minItems always "at least one": the codes say which.
function fail(code: ErrorCode, field: string, message: string): ValidationFailure {
  return { code, field: field === '' ? 'body' : field, message: `${field === '' ? 'body' : field}: ${message}` };
}

/** The first violation of `schema` by `value`, or undefined when it conforms. */
export function validate(value: unknown, schema: Schema, path = ''): ValidationFailure | undefined {
  if (schema.type !== undefined && !typeMatches(value, schema.type)) {
    return fail('INVALID_ARGUMENT', path, `must be ${schema.type === 'integer' ? 'an integer' : schema.type === 'array' || schema.type === 'object' ? `an ${schema.type}` : `a ${schema.type}`}, got ${typeName(value)}`);
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string)) {
    return fail('INVALID_ARGUMENT', path, `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return fail('INVALID_ARGUMENT', path, `must be at least ${schema.minimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum) return fail('LIMIT_EXCEEDED', path, `must be at most ${schema.maximum}, got ${value}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) return fail('INVALID_ARGUMENT', path, `must have at least ${schema.minLength} character(s)`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      return fail('LIMIT_EXCEEDED', path, `has ${value.length} characters; the server accepts at most ${schema.maxLength}`);
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return fail('EMPTY_INPUT', path, `needs at least ${schema.minItems} item(s)`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      return fail('LIMIT_EXCEEDED', path, `has ${value.length} items; the server accepts at most ${schema.maxItems}`);
    }
    if (schema.items !== undefined) {
      for (let i = 0; i < value.length; i++) {
        const f = validate(value[i], schema.items, join(path, i));
        if (f !== undefined) return f;
      }
    }
  }
  if (typeMatches(value, 'object')) {
    const obj = value as Record<string, unknown>;
    const props = schema.properties ?? {};
    for (const r of schema.required ?? []) {
      if (!Object.hasOwn(obj, r)) return fail('INVALID_ARGUMENT', join(path, r), 'is required');
    }
    for (const [key, v] of Object.entries(obj)) {
      // hasOwn: a body key such as "__proto__" or "constructor" must not find Object.prototype's members.
      const p = Object.hasOwn(props, key) ? props[key] : undefined;
      if (p === undefined) {
        if (schema.additionalProperties === false) {
          return fail('INVALID_ARGUMENT', join(path, key), `is not a known field; known: ${Object.keys(props).join(', ')}`);
        }
        continue;
      }
      const f = validate(v, p, join(path, key));
      if (f !== undefined) return f;
    }
  }
  if (schema.oneOf !== undefined) {
    const passing = schema.oneOf.filter((s) => validate(value, s, path) === undefined);
    if (passing.length !== 1) {
      const requiredOnly = schema.oneOf.every((s) => s.required !== undefined && Object.keys(s).length === 1);
      if (requiredOnly) {
        const names = schema.oneOf.map((s) => (s.required as readonly string[]).join('+'));
        return fail('INVALID_ARGUMENT', path, `give exactly one of ${names.join(', ')}`);
      }
      return passing.length === 0 ? validate(value, schema.oneOf[0] as Schema, path) : fail('INVALID_ARGUMENT', path, 'matches more than one form');
    }
  }
  return undefined;
}

function texts(limits: Limits, description: string, minLength = 0): Schema {
  return {
    type: 'array',
    description,
    minItems: 1,
    maxItems: limits.maxTexts,
    items: { type: 'string', minLength, maxLength: limits.maxTextChars },
  };
}

const truncation: Record<string, Schema> = {
  tokens: { type: 'integer', description: "Tokens of the text with the model's special tokens (and prompt), before truncation" },
  truncated: { type: 'boolean', description: "True when the text was longer than the model's max_seq_length and only its start was encoded" },
};

const errorBody: Schema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'A code from semsearch\'s error table, e.g. INVALID_ARGUMENT, LIMIT_EXCEEDED, SERVER_BUSY' },
        message: { type: 'string' },
        field: { type: 'string', description: 'The request field at fault, as a path: queries[3], k' },
      },
    },
  },
};

/** Every request and response body, built for one set of limits. */
export function buildSchemas(limits: Limits) {
  const searchRequest: Schema = {
    type: 'object',
    description: 'One query (`query`) or a batch (`queries`); each is encoded with the model\'s query prompt.',
    additionalProperties: false,
    properties: {
      query: { type: 'string', minLength: 1, maxLength: limits.maxTextChars },
      queries: texts(limits, 'A batch of queries, answered in order', 1),
      k: { type: 'integer', minimum: 1, maximum: limits.maxK, default: 10, description: 'Hits per query' },
      offset: { type: 'integer', minimum: 0, maximum: limits.maxK, default: 0, description: 'Hits to skip first, for the next page: offset + k is at most maxK' },
      rescore: {
        type: 'boolean',
        default: true,
        description: 'Binary indexes: rescore the hamming candidates with their int8 vectors (false ranks by hamming distance alone, score = -distance). Other precisions ignore it.',
      },
      exact: { type: 'boolean', default: false, description: 'Indexes with an HNSW graph: scan every vector instead of walking the graph' },
    },
    oneOf: [{ required: ['query'] }, { required: ['queries'] }],
    examples: [{ query: 'how big is london', k: 5 }],
  };
  const hit: Schema = {
    type: 'object',
    required: ['id', 'score', 'text', 'index'],
    properties: {
      id: { type: 'string', description: 'The passage id from the corpus' },
      score: { type: 'number' },
      text: { type: 'string' },
      index: { type: 'integer', description: 'Row number in the index' },
    },
  };
  const searchResponse: Schema = {
    type: 'object',
    required: ['results', 'k', 'precision', 'rescored', 'exact', 'took_ms'],
    properties: {
      results: {
        type: 'array',
        items: {
          type: 'object',
          required: ['query', 'hits', 'tokens', 'truncated'],
          properties: { query: { type: 'string' }, hits: { type: 'array', items: hit }, ...truncation },
        },
      },
      k: { type: 'integer' },
      offset: { type: 'integer' },
      precision: { type: 'string', enum: ['float32', 'float16', 'int8', 'binary'] },
      rescored: { type: 'boolean', description: 'Whether binary candidates were rescored with int8 vectors' },
      exact: { type: 'boolean', description: 'Whether every vector was scanned (no HNSW graph, or exact asked for)' },
      took_ms: { type: 'number', description: 'Time from the request read to the response, in the server' },
    },
  };
  const encodeRequest: Schema = {
    type: 'object',
    additionalProperties: false,
    required: ['texts'],
    properties: {
      texts: texts(limits, 'Texts to encode, without a prompt (as model.encode)'),
      precision: {
        type: 'string',
        enum: PRECISIONS,
        default: 'float32',
        description: "sentence-transformers' quantize_embeddings; int8/uint8 ranges come from this request's own embeddings; binary values are packed bytes",
      },
      normalize: { type: 'boolean', default: false, description: 'L2-normalise before quantising (models with a Normalize module already are)' },
    },
    examples: [{ texts: ['How big is London', 'London has 9,787,426 inhabitants'], precision: 'float32' }],
  };
  const encodeResponse: Schema = {
    type: 'object',
    required: ['embeddings', 'dim', 'precision', 'tokens', 'truncated', 'took_ms'],
    properties: {
      embeddings: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
      dim: { type: 'integer', description: 'Values per embedding (packed bytes for binary precisions)' },
      precision: { type: 'string', enum: PRECISIONS },
      tokens: { type: 'array', items: truncation['tokens'] as Schema },
      truncated: { type: 'array', items: truncation['truncated'] as Schema },
      took_ms: { type: 'number' },
    },
  };
  const similarityRequest: Schema = {
    type: 'object',
    additionalProperties: false,
    required: ['queries', 'passages'],
    properties: {
      queries: texts(limits, 'Encoded with the query prompt'),
      passages: texts(limits, 'Encoded with the document prompt'),
    },
    examples: [{ queries: ['How big is London'], passages: ['London has 9,787,426 inhabitants', 'London is known for its financial district'] }],
  };
  const similarityResponse: Schema = {
    type: 'object',
    required: ['scores', 'similarity', 'truncated', 'took_ms'],
    properties: {
      scores: { type: 'array', description: 'queries × passages, with the model\'s similarity function', items: { type: 'array', items: { type: 'number' } } },
      similarity: { type: 'string' },
      truncated: {
        type: 'object',
        required: ['queries', 'passages'],
        properties: { queries: { type: 'array', items: { type: 'boolean' } }, passages: { type: 'array', items: { type: 'boolean' } } },
      },
      took_ms: { type: 'number' },
    },
  };
  const infoResponse: Schema = {
    type: 'object',
    required: ['model', 'count', 'dim', 'precision', 'similarity', 'maxSeqLength', 'onnxFile', 'cpu', 'limits', 'batching'],
    properties: {
      model: { type: 'string' },
      modelType: { type: 'string' },
      similarity: { type: 'string' },
      count: { type: 'integer', description: 'Passages in the index' },
      dim: { type: 'integer' },
      precision: { type: 'string' },
      shards: { type: 'integer' },
      ann: { type: 'boolean', description: 'Whether the index has an HNSW graph' },
      maxSeqLength: { type: 'integer', description: 'Tokens the model reads; longer texts are truncated' },
      onnxFile: { type: 'string', description: 'The ONNX file queries are encoded with, relative to the model folder' },
      cpu: {
        type: 'object',
        description: 'The CPU the server runs on; isa decides which int8 files are accurate',
        required: ['arch', 'model', 'isa', 'flags'],
        properties: { arch: { type: 'string' }, model: { type: 'string' }, isa: { type: 'string' }, flags: { type: 'array', items: { type: 'string' } } },
      },
      onnxWarning: { type: 'string', description: 'Set when the ONNX file is not the int8 file built for this CPU, or drifts on it' },
      limits: {
        type: 'object',
        required: ['maxBodyBytes', 'maxTexts', 'maxTextChars', 'maxK'],
        properties: { maxBodyBytes: { type: 'integer' }, maxTexts: { type: 'integer' }, maxTextChars: { type: 'integer' }, maxK: { type: 'integer' } },
      },
      batching: {
        type: 'object',
        required: ['enabled', 'maxBatch', 'maxWaitMs', 'maxQueue', 'workers'],
        properties: {
          enabled: { type: 'boolean' },
          maxBatch: { type: 'integer' },
          maxWaitMs: { type: 'number' },
          quietMs: { type: 'number' },
          maxQueue: { type: 'integer' },
          workers: { type: 'integer' },
        },
      },
    },
  };
  const healthResponse: Schema = { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } };
  const readyResponse: Schema = { type: 'object', required: ['ready'], properties: { ready: { type: 'boolean', enum: [true] } } };
  return {
    searchRequest,
    searchResponse,
    encodeRequest,
    encodeResponse,
    similarityRequest,
    similarityResponse,
    infoResponse,
    healthResponse,
    readyResponse,
    errorBody,
  };
}

export type Schemas = ReturnType<typeof buildSchemas>;
