// Public API of semsearch. Everything a user imports comes from here.
export { SemsearchError, isSemsearchError, ERROR_CODES } from './errors.js';
export type { ErrorCode, SemsearchErrorDetails } from './errors.js';
// evaluation: qrels, runs, topics, corpora readers; trec_eval and sentence-transformers metrics; reports
export * from './eval/index.js';

// Models and encoding
export { loadModel, loadModelFromDir } from './encoder/load-model.js';
export type { LoadModelOptions } from './encoder/load-model.js';
export { SentenceTransformer } from './encoder/sentence-transformer.js';
export type { EncodeOptions, EncodeProgress } from './encoder/encode.js';
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
