import type { Schemas } from './schemas.js';
import type { Schema } from './validate.js';

function json(schema: Schema | string, description: string) {
  return { description, content: { 'application/json': { schema: typeof schema === 'string' ? { $ref: `#/components/schemas/${schema}` } : schema } } };
}

const ERRORS = {
  '400': json(
    'Error',
    'Invalid request: INVALID_JSON, INVALID_ARGUMENT (wrong type, unknown field), EMPTY_INPUT, LIMIT_EXCEEDED (texts, text length, k), FILTER_INVALID; writes: DUPLICATE_ENTRY, EMPTY_PASSAGE, METADATA_INVALID, INVALID_ENCODING (an id, text or metadata string with a lone UTF-16 surrogate)',
  ),
  '413': json('Error', 'REQUEST_TOO_LARGE: the body is over the size limit'),
  '415': json('Error', 'UNSUPPORTED_MEDIA_TYPE: send Content-Type: application/json'),
  '503': {
    ...json('Error', 'SERVER_BUSY (queue full) or SERVER_NOT_READY (loading, shutting down); retry after Retry-After seconds'),
    headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying' } },
  },
};

/** What a write can answer besides the request errors: no token, the index busy or read-only, a full disk. */
const WRITE_ERRORS = {
  '401': {
    ...json('Error', "UNAUTHORIZED: the server has a token and the request sent none or another (send Authorization: Bearer <token>)"),
    headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer realm="semsearch"' } },
  },
  '409': json('Error', 'INDEX_LOCKED: another writer held the index for 30 s; INDEX_READ_ONLY: the index folder cannot be written'),
  '507': json('Error', 'DISK_FULL: the write did not fit the disk; nothing was committed'),
};

function post(summary: string, request: string, response: string) {
  return {
    post: {
      summary,
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${request}` } } } },
      responses: { '200': json(response, 'OK'), ...ERRORS },
    },
  };
}

/** The OpenAPI 3.1 document of the server, built from the very schema objects the requests are checked with. */
export function openApiDocument(schemas: Schemas, version: string) {
  return {
    openapi: '3.1.0',
    info: { title: 'semsearch', version, description: 'Semantic search over a semsearch index: search, encode, similarity, and writes (documents).' },
    paths: {
      '/search': post('Search the index with one query or a batch', 'SearchRequest', 'SearchResponse'),
      '/encode': post('Embed texts with the index\'s model, at a chosen precision', 'EncodeRequest', 'EncodeResponse'),
      '/similarity': post('Score queries against passages with the model\'s similarity function', 'SimilarityRequest', 'SimilarityResponse'),
      '/documents': {
        post: {
          ...post('Add or replace documents (upsert by id) in one atomic write; later searches see them', 'DocumentsRequest', 'WriteResponse').post,
          security: [{}, { bearer: [] }],
          responses: { '200': json('WriteResponse', 'Committed'), ...ERRORS, '413': json('Error', 'REQUEST_TOO_LARGE: the body is over the size limit; TOO_MANY_FIELDS: more metadata fields than an index holds (256)'), ...WRITE_ERRORS },
        },
      },
      '/documents/{id}': {
        delete: {
          summary: 'Delete one document by id (a tombstone until semsearch compact)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The passage id, URL-encoded' }],
          security: [{}, { bearer: [] }],
          responses: { '200': json('WriteResponse', 'Committed'), '404': json('Error', 'UNKNOWN_DOCUMENT: the index holds no live document with this id'), ...WRITE_ERRORS },
        },
      },
      '/v1/embeddings': {
        post: {
          summary: "OpenAI-compatible embeddings: input as a string, strings, token ids or lists of them; encoding_format float or base64; usage; errors in OpenAI's shape",
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['input'] } } } },
          responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
      '/v1/models': { get: { summary: 'The served model, as OpenAI lists models', responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } } } } },
      '/embed': {
        post: {
          summary: 'text-embeddings-inference-compatible embeddings: {"inputs", "normalize" (true), "truncate" (false)} → [[...]]; errors {"error", "error_type"}',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['inputs'] } } } },
          responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'array' } } } } },
        },
      },
      '/rerank': {
        post: {
          summary:
            'text-embeddings-inference-compatible re-ranking with the --cross-encoder model: {"query", "texts", "raw_scores" (false), "return_text" (false), "truncate" (false)} → [{"index", "text"?, "score"}] best first; errors {"error", "error_type"}',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['query', 'texts'] } } } },
          responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'array' } } } } },
        },
      },
      '/info': { get: { summary: 'The index and the server limits', responses: { '200': json('InfoResponse', 'OK') } } },
      '/health': { get: { summary: 'Liveness: the process answers', responses: { '200': json('HealthResponse', 'OK') } } },
      '/ready': {
        get: { summary: 'Readiness: the model and index are loaded', responses: { '200': json('ReadyResponse', 'Ready'), '503': ERRORS['503'] } },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: { '200': { description: 'OK', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } } } },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } } } } },
    },
    components: {
      // Write routes need it when the server was started with a token (--token-file, SEMSEARCH_TOKEN); reads never do.
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        SearchRequest: schemas.searchRequest,
        SearchResponse: schemas.searchResponse,
        DocumentsRequest: schemas.documentsRequest,
        WriteResponse: schemas.writeResponse,
        EncodeRequest: schemas.encodeRequest,
        EncodeResponse: schemas.encodeResponse,
        SimilarityRequest: schemas.similarityRequest,
        SimilarityResponse: schemas.similarityResponse,
        InfoResponse: schemas.infoResponse,
        HealthResponse: schemas.healthResponse,
        ReadyResponse: schemas.readyResponse,
        Error: schemas.errorBody,
      },
    },
  };
}
