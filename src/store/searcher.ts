import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import type { MatrixLike } from '../tensor/matrix.js';
import type { IndexHit, SearchOptions, WriteOptions } from './search-index.js';
import type { WriteDocument, WriteResult } from './write-index.js';

/**
 * What the CLI, the server and the evaluator need of an index, whichever backend holds it: the local index
 * (SearchIndex) or an OpenSearch index (OpenSearchIndex). Encoding always happens in semsearch, with the model the
 * index was built with; the backend stores the vectors and searches them.
 */
export interface Searcher {
  /** 'local' or 'opensearch'. */
  readonly backend: string;
  /** The model queries and documents are encoded with. */
  readonly model: SentenceTransformer;
  /** Live documents. */
  readonly count: number;
  /** The k best passages of each query (mode vector, keyword or hybrid; filters; see SearchOptions). */
  search(queries: string | readonly string[], k?: number, options?: SearchOptions): Promise<IndexHit[][]>;
  /** search() with the query embeddings already computed by `model` (keyword mode needs none). */
  searchEncoded(list: readonly string[], embeddings: MatrixLike | undefined, k?: number, options?: SearchOptions): Promise<IndexHit[][]>;
  /** Add or replace documents by id. */
  upsert(documents: readonly WriteDocument[], options?: WriteOptions): Promise<WriteResult>;
  /** Delete documents by id: UNKNOWN_DOCUMENT, and nothing deleted, when one is not there. */
  delete(ids: string | readonly string[], options?: WriteOptions): Promise<WriteResult>;
  close(): Promise<void>;
}
