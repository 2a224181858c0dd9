// `semsearch/corpus`: the files passages and queries come in, one format table, one reader per format.
export { CORPUS_FORMATS, QUERIES_FORMATS, detectFormat, detectQueriesFormat } from './formats.js';
export type { CorpusFormat, QueriesFormat } from './formats.js';
export { iteratePassages, readPassages, splitIntoPassages } from './passages.js';
export type { Passage, CorpusOptions } from './passages.js';
export { readQueries } from './queries.js';
export type { ReadQueriesOptions } from './queries.js';
export { readMsMarcoQueries, readMsMarcoCollection, iterateMsMarcoCollection } from './msmarco.js';
export type { TsvRecord } from './msmarco.js';
export { iterateBeirCorpus, readBeirCorpus, readBeirQueries, beirDocumentText } from './beir.js';
export type { BeirRecord } from './beir.js';
export { readCandidateLists, candidatePassages } from './candidates.js';
export type { CandidateList, CandidateHit, ReadCandidatesOptions } from './candidates.js';
export { readSmartDocs, readSmartQueries, readCranfieldQueries, readCacmQueries, smartDocumentText } from './smart.js';
export type { SmartDoc, ReadSmartQueriesOptions } from './smart.js';
export { readTrecTopics, readSgmlTopics } from './topics.js';
export type { TrecTopic, ReadTopicsOptions } from './topics.js';
export { WarningTally, WARNING_CODES } from './warnings.js';
export type { InputWarning, WarningCode, WarningCount, WarningHandler } from './warnings.js';
