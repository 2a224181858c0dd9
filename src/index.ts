// semsearch: the verbs of sentence-transformers' API for Node.js. Load a model, encode, score, search; build and
// search an index. The rest lives under subpaths: semsearch/corpus (passage and query files), semsearch/eval
// (metrics, runs, qrels), semsearch/server (HTTP), semsearch/hub (models by name, CPU and ONNX files).
// docs/API.md describes every name; src/api-surface.test.ts pins the lists.
export { SemsearchError, isSemsearchError, ERROR_CODES } from './errors.js';
export type { ErrorCode, SemsearchErrorDetails } from './errors.js';

// Models and encoding
export { loadModel, loadModelFromDir } from './encoder/load-model.js';
export type { LoadModelOptions, LoadModelByNameOptions } from './encoder/load-model.js';
export { SentenceTransformer } from './encoder/sentence-transformer.js';
export type { OnnxChoice } from './encoder/sentence-transformer.js';
export type { Batching, EncodeOptions, EncodeProgress } from './encoder/encode.js';
export type { ModelConfig, ModelType, PoolingMode, PoolingConfig, SimilarityFnName } from './model/config.js';
// A loaded model's tokenizer (model.tokenizer); made by loadModel, never constructed by hand.
export type { Tokenizer, EncodedPair } from './model/tokenizer/tokenizer.js';

// Cross-encoders: a query and a passage read together, for re-ranking
export { CrossEncoder, loadCrossEncoder, loadCrossEncoderFromDir } from './encoder/cross-encoder.js';
export type { LoadCrossEncoderOptions, PredictOptions, RankHit, RankOptions, TextPair } from './encoder/cross-encoder.js';
export { CROSS_ACTIVATIONS, CROSS_MODEL_TYPES } from './model/cross-config.js';
export type { CrossActivation, CrossEncoderConfig, CrossModelType } from './model/cross-config.js';
export { rerankHits } from './rerank/rerank-hits.js';
export type { RerankedHit } from './rerank/rerank-hits.js';

// Vectors, quantization, scoring
export { Matrix, toMatrix } from './tensor/matrix.js';
export type { MatrixLike } from './tensor/matrix.js';
export { quantizeEmbeddings, PRECISIONS } from './tensor/quantize.js';
export type { Precision, QuantizedMatrix, QuantizationRanges, QuantizeOptions } from './tensor/quantize.js';
export { dotScore, cosSim, euclideanSim, manhattanSim, SIMILARITY_FUNCTIONS } from './score/similarity.js';
export type { ScoreFunction } from './score/similarity.js';
export { semanticSearch } from './score/semantic-search.js';
export type { SearchHit, SemanticSearchOptions } from './score/semantic-search.js';

// Indexes: build (streaming, resumable), open, search
export { buildIndex } from './store/build-index.js';
export type { BuildIndexOptions, BuildProgress, BuildResult } from './store/build-index.js';
export { openIndex, SearchIndex } from './store/search-index.js';
export type { IndexInfo, OpenIndexOptions } from './store/search-index.js';
export type { IndexHit, SearchOptions, ChunkScore } from './store/searcher.js';
export { CHUNK_SCORES } from './store/searcher.js';
export type { ChunkSettings } from './store/chunk-rows.js';
export type { ChunkingInfo } from './store/manifest.js';
export { INDEX_PRECISIONS } from './store/manifest.js';
export { SEARCH_MODES, FUSION_METHODS } from './store/fusion.js';
export type { SearchMode, FusionMethod } from './store/fusion.js';
export type { IndexManifest, IndexPrecision } from './store/manifest.js';
export { buildAnnIndex, ANN_QUANTIZATIONS } from './store/ann.js';
export { buildIvfIndex } from './store/ivf.js';
export type { FieldType } from './store/manifest.js';
// A living index: writes after the build, metadata, filters
export { IndexWriter, MAX_WRITE_BATCH } from './store/write-index.js';
export type { CompactOptions, CompactProgress, IndexWriterOptions, WriteDocument, WriteResult } from './store/write-index.js';
export type { WriteOptions } from './store/searcher.js';
export type { Filter, FieldCondition, FieldValue, Metadata } from './store/filter.js';
export type { AnnEntry, AnnQuantization, BuildAnnOptions } from './store/ann.js';
export type { BuildIvfOptions, IvfEntry } from './store/ivf.js';
