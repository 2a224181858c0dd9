// The evaluation folder's public surface; src/index.ts re-exports it.
export { readTrecQrels, toQrels, relevantDocs } from './qrels.js';
export type { Qrels, QueryIds, ReadQrelsOptions } from './qrels.js';
export { readTrecRun, iterateTrecRun, toRun, writeTrecRun, formatTrecRun, trecRunLines, candidatesToRun } from './run.js';
export type { Run, RankedList, RunLine, ReadRunOptions, WriteRunOptions } from './run.js';
export { readTrecTopics, readSgmlTopics } from './topics.js';
export type { TrecTopic, ReadTopicsOptions } from './topics.js';
export { readBeirQrels } from './beir-qrels.js';
export {
  iterateSmartRecords,
  readSmartDocs,
  readSmartQueries,
  readCranfieldQueries,
  readCranfieldQrels,
  readCacmQueries,
  readCacmQrels,
  smartDocumentText,
  normalizeSmartId,
} from './smart.js';
export type { SmartRecord, SmartDoc, ReadSmartQueriesOptions, ReadCranfieldQrelsOptions } from './smart.js';
export { trecEval, trecEvalQuery, trecRanking, parseTrecMeasures, DEFAULT_TREC_MEASURES } from './trec-metrics.js';
export type { TrecEvalOptions, TrecEvalResult } from './trec-metrics.js';
export { stIrEvaluate, stQueryMetrics, stRanking, stMeasureNames, ST_DEFAULT_K } from './st-metrics.js';
export type { StIrOptions, StIrResult } from './st-metrics.js';
export { compareCodePoints } from './codepoint-order.js';
export { evaluateRun, evaluateTrecFiles, formatReportTable, reportToJson } from './report.js';
export type { EvaluateOptions, EvalReport, FormatReportOptions, ReportJson, ReportJsonOptions } from './report.js';
export { rerankRun, rerankCandidates } from './rerank.js';
export type { RerankEncoder, RerankOptions } from './rerank.js';
export { retrieve, retrieveRun } from './retrieve.js';
export type { Retrieval, RetrieveEncoder, RetrieveOptions } from './retrieve.js';
export {
  loadEvalTask,
  datasetSpec,
  listDatasets,
  defaultDataDir,
  dl19PoolFiles,
  readPassages,
  readQueries,
  readJudgments,
  defaultRelevanceLevel,
} from './tasks.js';
export type { EvalTask, EvalTaskSpec, RetrievalTask, RerankTask, QueriesFormat, QrelsFormat, DatasetInfo } from './tasks.js';
export { evaluateModel } from './evaluate-model.js';
export type { EvalModel, EvaluateModelOptions, EvalTimings, ModelEvaluation } from './evaluate-model.js';
