// Public API of semsearch. Everything a user imports comes from here.
export { SemsearchError, isSemsearchError, ERROR_CODES } from './errors.js';
export type { ErrorCode, SemsearchErrorDetails } from './errors.js';
// Corpora: passage and query files (MS MARCO tsv, BEIR jsonl, candidate lists, folders of text)
export * from './corpus/index.js';
// Evaluation: qrels, runs, topics; trec_eval and sentence-transformers metrics; re-ranking, retrieval, reports
export * from './eval/index.js';

// Models and encoding
export { loadModel, loadModelFromDir } from './encoder/load-model.js';
export type { LoadModelOptions } from './encoder/load-model.js';
export { SentenceTransformer } from './encoder/sentence-transformer.js';
export type { OnnxChoice } from './encoder/sentence-transformer.js';
// The CPU and the int8 file accurate on it
export { detectCpu, ISAS } from './cpu/features.js';
export type { CpuFacts, Isa } from './cpu/features.js';
export { chooseInt8Variant, isAccurateOn, INT8_PREFERENCE, QUANTIZED_VARIANTS } from './cpu/int8.js';
export type { Int8Choice, QuantizedVariant } from './cpu/int8.js';
export { describeRuntime, formatRuntimeReport } from './encoder/runtime-report.js';
export type { RuntimeReport, ModelFilesReport } from './encoder/runtime-report.js';
export { BATCHINGS } from './encoder/encode.js';
export type { Batching, EncodeOptions, EncodeProgress } from './encoder/encode.js';
export { planBatches } from './encoder/batch-plan.js';
export { readModelConfig } from './model/config.js';
export type { ModelConfig, ModelType, PoolingMode, PoolingConfig, SimilarityFnName } from './model/config.js';
export { loadTokenizer } from './model/tokenizer/load-tokenizer.js';
export { Tokenizer } from './model/tokenizer/tokenizer.js';

// Vectors, quantization, scoring
export { Matrix, toMatrix } from './tensor/matrix.js';
export type { MatrixLike } from './tensor/matrix.js';
export { quantizeEmbeddings, rangesOf, PRECISIONS } from './tensor/quantize.js';
export type { Precision, QuantizedMatrix, QuantizationRanges } from './tensor/quantize.js';
export { dotScore, cosSim, euclideanSim, manhattanSim, SIMILARITY_FUNCTIONS } from './score/similarity.js';
export type { ScoreFunction } from './score/similarity.js';
export { semanticSearch } from './score/semantic-search.js';
export type { SearchHit, SemanticSearchOptions } from './score/semantic-search.js';

// Models by name: fetched from the Hugging Face hub into its shared cache
export { resolveModel } from './hub/index.js';
export type { ResolveModelOptions, NetworkOptions, DownloadProgress, ProgressListener } from './hub/index.js';

// Indexes: build (streaming, resumable), open, search
export { buildIndex } from './store/build-index.js';
export type { BuildIndexOptions, BuildProgress, BuildResult } from './store/build-index.js';
export { openIndex, SearchIndex } from './store/search-index.js';
export type { IndexHit, IndexInfo, OpenIndexOptions } from './store/search-index.js';
export { INDEX_PRECISIONS } from './store/manifest.js';
export type { IndexManifest, IndexPrecision } from './store/manifest.js';
export { buildAnnIndex, ANN_QUANTIZATIONS } from './store/ann.js';
export type { AnnEntry, AnnQuantization, BuildAnnOptions } from './store/ann.js';
export type { SearchOptions } from './store/search-index.js';

// Serving an index over HTTP: search, encode, similarity, metrics and a search page
export { createServer } from './server/server.js';
export type { ServeOptions, SemsearchServer } from './server/server.js';
export type { Limits as ServeLimits } from './server/schemas.js';
