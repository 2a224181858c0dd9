import { SemsearchError } from '../../errors.js';
import type { Job } from '../inference.js';
import { MAX_METADATA_FIELDS, type Metadata } from '../../store/filter.js';
import type { DeleteRoute, PostRoute } from '../router.js';
import { checkFilterBounds, type Filter } from '../../store/filter.js';
import type { DocumentsRequest, EncodeRequest, Limits, Schemas, SearchRequest, SimilarityRequest } from '../schemas.js';
import { parse, type Infer, type Schema } from '../validate.js';

/** A POST route whose body is checked against `schema` before `job` sees it, typed by that schema. */
function post<S extends Schema>(schema: S, job: (body: Infer<S>) => Job): PostRoute {
  return { method: 'POST', job: (body) => job(parse(schema, body)) };
}

export function searchJob(b: SearchRequest, limits: Limits): Job {
  if (b.filter !== undefined) checkFilterBounds(b.filter, 'filter');
  const k = b.k ?? 10;
  const offset = b.offset ?? 0;
  // Each bound holds alone in the schema; their sum is what the index is asked for.
  if (offset + k > limits.maxK) {
    throw new SemsearchError('LIMIT_EXCEEDED', `offset + k is ${offset + k}; the server returns at most the first ${limits.maxK} hits of a query`, { field: 'offset' });
  }
  if (b.rerank_depth !== undefined && b.rerank !== true) {
    throw new SemsearchError('INVALID_ARGUMENT', 'rerank_depth is the depth of rerank: true', { field: 'rerank_depth' });
  }
  const queries = b.query !== undefined ? [b.query] : b.queries;
  const depth = Math.max(b.rerank_depth ?? 100, offset + k);
  // Checked here, before the request is queued: every pair is a cross-encoder run in a worker.
  if (b.rerank === true && queries.length * depth > limits.maxRerankPairs) {
    throw new SemsearchError(
      'LIMIT_EXCEEDED',
      `rerank asks for ${queries.length} ${queries.length === 1 ? 'query' : 'queries'} × rerank_depth ${depth} = ${queries.length * depth} cross-encoder pairs; the server re-ranks at most ${limits.maxRerankPairs} per request (maxRerankPairs): send fewer queries or a smaller rerank_depth`,
      { field: 'rerank_depth' },
    );
  }
  return {
    kind: 'search',
    queries,
    k,
    ...(b.timeout_ms !== undefined ? { timeoutMs: b.timeout_ms } : {}),
    ...(b.offset !== undefined ? { offset: b.offset } : {}),
    ...(b.rerank === true ? { rerank: { depth } } : {}),
    // The request's search settings, in the library's names.
    options: {
      ...(b.rescore !== undefined ? { rescore: b.rescore } : {}),
      ...(b.rescore_multiplier !== undefined ? { rescoreMultiplier: b.rescore_multiplier } : {}),
      ...(b.exact !== undefined ? { exact: b.exact } : {}),
      ...(b.ef !== undefined ? { ef: b.ef } : {}),
      ...(b.nprobe !== undefined ? { nprobe: b.nprobe } : {}),
      ...(b.oversample !== undefined ? { oversample: b.oversample } : {}),
      ...(b.mode !== undefined ? { mode: b.mode } : {}),
      ...(b.fusion !== undefined ? { fusion: b.fusion } : {}),
      ...(b.vector_weight !== undefined ? { vectorWeight: b.vector_weight } : {}),
      ...(b.chunk_score !== undefined ? { chunkScore: b.chunk_score } : {}),
      ...(b.sum_chunks !== undefined ? { sumChunks: b.sum_chunks } : {}),
      // The filter's depth and size are checked here, on the HTTP thread, before it is queued or cloned to a
      // worker; its shape against the index's fields in the worker (FILTER_INVALID naming where).
      ...(b.filter !== undefined ? { filter: b.filter as Filter } : {}),
    },
  };
}

export function encodeJob(b: EncodeRequest): Job {
  return {
    kind: 'encode',
    texts: b.texts,
    precision: b.precision ?? 'float32',
    ...(b.normalize !== undefined ? { normalize: b.normalize } : {}),
    ...(b.prompt_name !== undefined ? { promptName: b.prompt_name } : {}),
    ...(b.timeout_ms !== undefined ? { timeoutMs: b.timeout_ms } : {}),
  };
}

export function similarityJob(b: SimilarityRequest): Job {
  return { kind: 'similarity', queries: b.queries, passages: b.passages, ...(b.timeout_ms !== undefined ? { timeoutMs: b.timeout_ms } : {}) };
}

export function documentsJob(b: DocumentsRequest): Job {
  // Checked here, on the HTTP thread, before the write is queued: no index takes more fields than this, so a request
  // naming more is refused at once rather than after a worker has spent seconds adding columns.
  const names = new Set<string>();
  for (const d of b.documents) for (const name of Object.keys(d.metadata ?? {})) names.add(name);
  if (names.size > MAX_METADATA_FIELDS) {
    throw new SemsearchError('TOO_MANY_FIELDS', `the documents name ${names.size} metadata fields; an index holds at most ${MAX_METADATA_FIELDS}`, { field: 'documents' });
  }
  return {
    kind: 'upsert',
    documents: b.documents.map((d) => ({ id: d.id, text: d.text, ...(d.metadata !== undefined ? { metadata: d.metadata as Metadata } : {}) })),
  };
}

/** POST /search, /encode, /similarity, /documents and DELETE /documents/{id}: the requests the workers answer. */
export function jobRoutes(schemas: Schemas, limits: Limits, options: { readOnly?: boolean } = {}): Record<string, PostRoute | DeleteRoute> {
  const routes: Record<string, PostRoute | DeleteRoute> = {
    '/search': post(schemas.searchRequest, (b) => searchJob(b, limits)),
    '/encode': post(schemas.encodeRequest, encodeJob),
    '/similarity': post(schemas.similarityRequest, similarityJob),
  };
  if (options.readOnly !== true) {
    routes['/documents'] = { ...post(schemas.documentsRequest, documentsJob), write: true };
    routes['/documents/{id}'] = { method: 'DELETE', job: (id) => ({ kind: 'delete', ids: [id] }), write: true };
  }
  return routes;
}
