// semsearch/opensearch: push a local index to an OpenSearch cluster, then search it through the same Searcher interface.
export type { Searcher } from '../store/searcher.js';
export { OpenSearchConnection, type ConnectOptions } from './connection.js';
export { DEFAULT_OVERSAMPLE } from './query.js';
export { OpenSearchIndex, openOpenSearchIndex, type OpenSearchIndexOptions, type RemoteInfo, type RemoteSearchOptions } from './opensearch-index.js';
export { pushIndex, type PushOptions, type PushProgress, type PushResult } from './push.js';
export { filterQuery, similarityFromScore } from './query.js';
export type { HnswOptions, RemoteMeta, SpaceType } from './mapping.js';
