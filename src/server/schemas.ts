import { MAX_EF } from '../store/ann.js';
import { FUSION_METHODS, SEARCH_MODES } from '../store/fusion.js';
import { MAX_RESCORE_MULTIPLIER } from '../store/search-index.js';

/** The deepest a request may ask the cross-encoder to re-rank: every hit is a transformer run. */
export const MAX_RERANK_DEPTH = 1000;
import { PRECISIONS } from '../tensor/quantize.js';
import { array, boolean, integer, number, object, string, stringEnum, type Infer } from './validate.js';

/** Server limits: each appears in the request schemas as a maximum, or (maxRerankPairs) is checked with them. */
export interface Limits {
  /** Request body size in bytes (413 above it). */
  maxBodyBytes: number;
  /** Texts in one list of a request: queries, texts, passages. */
  maxTexts: number;
  /** Characters in one text; longer than the model's window is truncated and reported, this bounds tokenizer work. */
  maxTextChars: number;
  /** Largest k for /search. */
  maxK: number;
  /**
   * Cross-encoder pairs one request may ask for: /search's queries × rerank_depth, /rerank's texts. Each pair is a
   * transformer run, so this bounds how long one request holds a worker.
   */
  maxRerankPairs: number;
}

// maxRerankPairs: one query at the deepest rerank_depth (1000), or 10 queries at the default depth (100). At the rate
// of the issue-29 report (64 × 1000 pairs in 101 s, 2 cores) that is about 1.6 s of one worker.
export const DEFAULT_LIMITS: Limits = { maxBodyBytes: 1 << 20, maxTexts: 64, maxTextChars: 20_000, maxK: 100, maxRerankPairs: 1000 };

/** A request's own deadline; the server's request timeout is the most it gets (a longer one is cut to it). */
const timeoutMs = () =>
  integer({ minimum: 1, maximum: 86_400_000, description: "This request's deadline in ms (default and most: the server's --request-timeout-ms); past it: 504 DEADLINE_EXCEEDED, and the work stops" });

function texts(limits: Limits, description: string, minLength = 0) {
  return array(string({ minLength, maxLength: limits.maxTextChars }), { description, minItems: 1, maxItems: limits.maxTexts });
}

const truncation = {
  tokens: integer({ description: "Tokens of the text with the model's special tokens (and prompt), before truncation" }),
  truncated: boolean({ description: "True when the text was longer than the model's max_seq_length and only its start was encoded" }),
};

const errorBody = object(
  {
    error: object(
      {
        code: string({ description: 'A code from semsearch\'s error table, e.g. INVALID_ARGUMENT, LIMIT_EXCEEDED, SERVER_BUSY' }),
        message: string(),
        field: string({ description: 'The request field at fault, as a path: queries[3], k' }),
      },
      { required: ['code', 'message'] },
    ),
  },
  { required: ['error'] },
);

/** POST /search: one query or a batch, its hits. */
function searchSchemas(limits: Limits) {
  const searchRequest = object(
    {
      query: string({ minLength: 1, maxLength: limits.maxTextChars }),
      queries: texts(limits, 'A batch of queries, answered in order', 1),
      k: integer({ minimum: 1, maximum: limits.maxK, default: 10, description: 'Hits per query' }),
      offset: integer({ minimum: 0, maximum: limits.maxK, default: 0, description: 'Hits to skip first, for the next page: offset + k is at most maxK' }),
      rescore: boolean({
        default: true,
        description:
          'Binary indexes: rescore the hamming candidates with their int8 vectors (false ranks by hamming distance alone, score = -distance). The OpenSearch backend: rescore the cluster\'s candidates here, in the local index\'s arithmetic (default: the server\'s --rescore). Other precisions ignore it.',
      }),
      rescore_multiplier: integer({
        minimum: 1,
        maximum: MAX_RESCORE_MULTIPLIER,
        default: 4,
        description: 'Binary indexes: hamming candidates rescored per hit (as sentence-transformers\' rescore_multiplier); more find more of the float top-k',
      }),
      exact: boolean({ default: false, description: 'Indexes with an HNSW graph: scan every vector instead of walking the graph (the OpenSearch backend refuses true)' }),
      rerank: boolean({ default: false, description: "Re-rank the hits with the server's cross-encoder (semsearch serve --cross-encoder): rerank_depth hits are retrieved and re-scored, offset + k kept; scores are then the cross-encoder's" }),
      rerank_depth: integer({
        minimum: 1,
        maximum: MAX_RERANK_DEPTH,
        default: 100,
        description: `With rerank: hits retrieved per query for the cross-encoder (at least offset + k are); queries × rerank_depth is at most maxRerankPairs (${limits.maxRerankPairs})`,
      }),
      timeout_ms: timeoutMs(),
      oversample: integer({
        minimum: 1,
        maximum: 100,
        description: "The OpenSearch backend: candidates asked of each shard per hit wanted (default: the server's --oversample, else 10); a local index ignores it",
      }),
      mode: stringEnum(SEARCH_MODES, { default: 'vector', description: 'vector (embeddings), keyword (BM25 over the passages, SQLite FTS5) or hybrid (both, fused)' }),
      fusion: stringEnum(FUSION_METHODS, { default: 'rrf', description: 'hybrid: reciprocal rank fusion (k = 60) or a weighted sum of min-max normalised scores' }),
      vector_weight: number({ minimum: 0, maximum: 1, default: 0.5, description: 'hybrid with weighted fusion: the vector score\'s weight; the keyword score gets the rest' }),
      chunk_score: stringEnum(['max', 'sum'], {
        default: 'max',
        description: "Chunked indexes: a document's score is its best window's (max) or the sum of its best sum_chunks windows' (sum); other indexes ignore it",
      }),
      sum_chunks: integer({ minimum: 1, maximum: 1000, default: 3, description: 'chunk_score sum: windows summed per document' }),
      ef: integer({
        minimum: 1,
        maximum: MAX_EF,
        description: "Local indexes with an HNSW graph: the search expansion for these queries (default: the graph's own); higher is slower and closer to exact. The OpenSearch backend refuses it: use oversample",
      }),
      nprobe: integer({
        minimum: 1,
        maximum: 65536,
        description: "Local binary indexes with IVF lists: lists scanned per query (default: the lists' own, at most their nlist); nlist gives the exact binary path's hits. The OpenSearch backend refuses it",
      }),
      filter: object(
        {},
        {
          description:
            'Only passages whose metadata match: {"year": 2020}, {"year": {"gte": 2000, "lt": 2010}}, {"lang": {"in": ["en", "de"]}}, {"and": [...]}, {"or": [...]}, {"not": {...}}; "id" is always a field. Vector hits are exact over the allowed passages.',
          examples: [{ and: [{ lang: 'en' }, { year: { gte: 2020 } }] }],
        },
      ),
    },
    {
      description: 'One query (`query`) or a batch (`queries`); each is encoded with the model\'s query prompt.',
      additionalProperties: false,
      exactlyOne: ['query', 'queries'],
      examples: [{ query: 'how big is london', k: 5 }],
    },
  );
  const hit = object(
    {
      id: string({ description: 'The passage id from the corpus' }),
      score: number(),
      retrieval_score: number({ description: "With rerank: the index's score; score is then the cross-encoder's" }),
      text: string(),
      index: integer({ description: 'Row number in the index (-1 on the OpenSearch backend, which has no row numbers)' }),
      metadata: object({}, { description: 'The passage\'s metadata fields that have a value' }),
      chunk: object(
        {
          number: integer({ description: 'The window\'s number in its document, from 0' }),
          start: integer({ description: 'UTF-16 offset in the document\'s text where the window (text) starts' }),
          end: integer({ description: 'UTF-16 offset where it ends, exclusive' }),
          score: number({ description: "The window's own score (score is the document's)" }),
        },
        { description: 'Chunked indexes (index --chunk): the document\'s best window, which text holds, and where it lies in the document', required: ['number', 'start', 'end', 'score'] },
      ),
    },
    { required: ['id', 'score', 'text', 'index'] },
  );
  const searchResponse = object(
    {
      results: array(object({ query: string(), hits: array(hit), ...truncation }, { required: ['query', 'hits', 'tokens', 'truncated'] })),
      k: integer(),
      offset: integer(),
      precision: stringEnum(['float32', 'float16', 'int8', 'binary']),
      rescored: boolean({ description: "Whether binary candidates were rescored with int8 vectors; on the OpenSearch backend, whether the cluster's candidates were rescored here" }),
      exact: boolean({ description: 'Whether every vector was scanned (a local index with no HNSW graph, or exact asked for)' }),
      took_ms: number({ description: 'Time from the request read to the response, in the server' }),
      reranked: object({ model: string(), depth: integer() }, { description: 'With rerank: the cross-encoder and the hits it re-scored per query', required: ['model', 'depth'] }),
    },
    { required: ['results', 'k', 'precision', 'rescored', 'exact', 'took_ms'] },
  );
  return { searchRequest, searchResponse };
}

/** POST /encode: texts in, embeddings out. */
function encodeSchemas(limits: Limits) {
  const encodeRequest = object(
    {
      texts: texts(limits, 'Texts to encode, as model.encode (no prompt unless prompt_name or the model\'s default_prompt_name gives one)'),
      precision: stringEnum(PRECISIONS, {
        default: 'float32',
        description: "sentence-transformers' quantize_embeddings; int8/uint8 ranges come from this request's own embeddings; binary values are packed bytes",
      }),
      normalize: boolean({ default: false, description: 'L2-normalise before quantising (models with a Normalize module already are)' }),
      prompt_name: string({
        minLength: 1,
        description: "One of the model's prompts (config_sentence_transformers.json), put before every text, as encode(prompt_name=…); absent: the model's default_prompt_name, if any",
      }),
      timeout_ms: timeoutMs(),
    },
    {
      additionalProperties: false,
      required: ['texts'],
      examples: [{ texts: ['How big is London', 'London has 9,787,426 inhabitants'], precision: 'float32' }],
    },
  );
  const encodeResponse = object(
    {
      embeddings: array(array(number())),
      dim: integer({ description: 'Values per embedding (packed bytes for binary precisions)' }),
      precision: stringEnum(PRECISIONS),
      tokens: array(truncation.tokens),
      truncated: array(truncation.truncated),
      took_ms: number(),
    },
    { required: ['embeddings', 'dim', 'precision', 'tokens', 'truncated', 'took_ms'] },
  );
  return { encodeRequest, encodeResponse };
}

/** POST /similarity: queries × passages. */
function similaritySchemas(limits: Limits) {
  const similarityRequest = object(
    {
      queries: texts(limits, 'Encoded with the query prompt'),
      passages: texts(limits, 'Encoded with the document prompt'),
      timeout_ms: timeoutMs(),
    },
    {
      additionalProperties: false,
      required: ['queries', 'passages'],
      examples: [{ queries: ['How big is London'], passages: ['London has 9,787,426 inhabitants', 'London is known for its financial district'] }],
    },
  );
  const similarityResponse = object(
    {
      scores: array(array(number()), { description: 'queries × passages, with the model\'s similarity function' }),
      similarity: string(),
      truncated: object({ queries: array(boolean()), passages: array(boolean()) }, { required: ['queries', 'passages'] }),
      took_ms: number(),
    },
    { required: ['scores', 'similarity', 'truncated', 'took_ms'] },
  );
  return { similarityRequest, similarityResponse };
}

/** POST /documents (and DELETE /documents/{id}, which shares the write response): a write to the index. */
function documentsSchemas(limits: Limits) {
  const documentsRequest = object(
    {
      documents: array(
        object(
          {
            id: string({ minLength: 1, maxLength: 1024, description: 'The passage id; a document with this id is replaced' }),
            text: string({ minLength: 1, maxLength: limits.maxTextChars }),
            metadata: object({}, { description: 'Fields of this document: strings, finite numbers, booleans or null; each field keeps one type in an index' }),
          },
          { required: ['id', 'text'], additionalProperties: false },
        ),
        { description: 'Documents to add or replace, in one atomic write', minItems: 1, maxItems: limits.maxTexts },
      ),
    },
    {
      required: ['documents'],
      additionalProperties: false,
      examples: [{ documents: [{ id: 'd1', text: 'London has 9,787,426 inhabitants at the 2011 census', metadata: { year: 2011 } }] }],
    },
  );
  const writeResponse = object(
    {
      generation: integer({ description: 'The write\'s generation: searches from now on see it' }),
      added: integer(),
      replaced: integer(),
      deleted: integer(),
      live: integer({ description: 'Documents in the index after the write' }),
      took_ms: number(),
    },
    { required: ['generation', 'added', 'replaced', 'deleted', 'live', 'took_ms'] },
  );
  return { documentsRequest, writeResponse };
}

/** GET /info: the index, the model, the CPU, the limits. */
/** (The limits show in its values, not in its schema.) */
function infoSchemas(_limits?: Limits) {
  const infoResponse = object(
    {
      backend: stringEnum(['local', 'opensearch'], { description: 'Where the passages are: a local index folder, or an OpenSearch index' }),
      model: string(),
      modelType: string(),
      similarity: string(),
      count: integer({ description: 'Passages in the index (the OpenSearch backend: when the server started)' }),
      dim: integer(),
      precision: string(),
      shards: integer(),
      ann: boolean({ description: 'Whether the index has an HNSW graph (always, on the OpenSearch backend)' }),
      maxSeqLength: integer({ description: 'Tokens the model reads; longer texts are truncated' }),
      onnxFile: string({ description: 'The ONNX file queries are encoded with, relative to the model folder' }),
      cpu: object(
        { arch: string(), model: string(), isa: string(), flags: array(string()) },
        { description: 'The CPU the server runs on; isa decides which int8 files are accurate', required: ['arch', 'model', 'isa', 'flags'] },
      ),
      onnxWarning: string({ description: 'Set when the ONNX file is not the int8 file built for this CPU, or drifts on it' }),
      opensearch: object(
        { url: string(), indexName: string(), replicas: integer(), oversample: integer(), rescore: boolean() },
        { description: "The OpenSearch backend: the cluster, the index, and the server's search defaults", required: ['url', 'indexName', 'replicas', 'oversample', 'rescore'] },
      ),
      fields: object(
        {},
        {
          description: 'The metadata fields filters can name, each with its type: "string", "number" or "boolean" ("id" is always a field besides); as the index stood when the server started',
          examples: [{ lang: 'string', year: 'number', reviewed: 'boolean' }],
        },
      ),
      ivf: object(
        { nlist: integer(), nprobe: integer(), rows: integer() },
        { description: "IVF lists of a binary index (index --ivf): how many, the nprobe a search uses unless it sets one, and the rows they hold (rows written later are scanned exactly)", required: ['nlist', 'nprobe', 'rows'] },
      ),
      chunking: object(
        { maxTokens: integer(), overlap: integer(), windows: integer(), documents: integer() },
        { description: 'A chunked index (index --chunk): tokens per window, overlap, its live windows (count counts every stored row) and its live documents, which /search returns one hit each', required: ['maxTokens', 'overlap', 'windows', 'documents'] },
      ),
      sample: string({ description: "The opening words of one passage of the index (its first live one), for the search page's placeholder; absent on the OpenSearch backend" }),
      crossEncoder: object(
        { model: string(), architecture: string(), maxLength: integer(), activation: string(), onnxFile: string() },
        { description: 'The cross-encoder of --cross-encoder: /search re-ranks with it on request, POST /rerank scores with it', required: ['model', 'architecture', 'maxLength', 'activation', 'onnxFile'] },
      ),
      limits: object(
        { maxBodyBytes: integer(), maxTexts: integer(), maxTextChars: integer(), maxK: integer(), maxRerankPairs: integer() },
        { required: ['maxBodyBytes', 'maxTexts', 'maxTextChars', 'maxK', 'maxRerankPairs'] },
      ),
      batching: object(
        { enabled: boolean(), maxBatch: integer(), maxWaitMs: number(), quietMs: number(), maxQueue: integer(), workers: integer() },
        { required: ['enabled', 'maxBatch', 'maxWaitMs', 'maxQueue', 'workers'] },
      ),
    },
    { required: ['backend', 'model', 'count', 'dim', 'precision', 'similarity', 'maxSeqLength', 'onnxFile', 'cpu', 'fields', 'limits', 'batching'] },
  );
  return { infoResponse };
}

/** GET /health and GET /ready. */
function healthSchemas(_limits?: Limits) {
  const healthResponse = object({ status: stringEnum(['ok']) }, { required: ['status'] });
  const readyResponse = object({ ready: boolean({ enum: [true] }) }, { required: ['ready'] });
  return { healthResponse, readyResponse };
}

/**
 * One schema definition per route (group): each builds the request and response bodies of its routes for one set of
 * limits. The error body is shared by every route.
 */
export const ROUTE_SCHEMAS = {
  '/search': searchSchemas,
  '/encode': encodeSchemas,
  '/similarity': similaritySchemas,
  '/documents': documentsSchemas,
  '/info': infoSchemas,
  '/health': healthSchemas,
} as const;

/** Every request and response body, built for one set of limits: the routes' schemas together, and the error body. */
export function buildSchemas(limits: Limits) {
  const { searchRequest, searchResponse } = ROUTE_SCHEMAS['/search'](limits);
  const { encodeRequest, encodeResponse } = ROUTE_SCHEMAS['/encode'](limits);
  const { similarityRequest, similarityResponse } = ROUTE_SCHEMAS['/similarity'](limits);
  const { documentsRequest, writeResponse } = ROUTE_SCHEMAS['/documents'](limits);
  const { infoResponse } = ROUTE_SCHEMAS['/info'](limits);
  const { healthResponse, readyResponse } = ROUTE_SCHEMAS['/health'](limits);
  return {
    searchRequest,
    searchResponse,
    documentsRequest,
    writeResponse,
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
export type SearchRequest = Infer<Schemas['searchRequest']>;
export type DocumentsRequest = Infer<Schemas['documentsRequest']>;
export type EncodeRequest = Infer<Schemas['encodeRequest']>;
export type SimilarityRequest = Infer<Schemas['similarityRequest']>;
