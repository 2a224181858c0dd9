// Public API of semsearch. Everything a user imports comes from here.
export { SemsearchError, isSemsearchError, ERROR_CODES } from './errors.js';
export type { ErrorCode, SemsearchErrorDetails } from './errors.js';
// evaluation: qrels, runs, topics, corpora readers; trec_eval and sentence-transformers metrics; reports
export * from './eval/index.js';
