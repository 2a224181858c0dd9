// The corpus folder's public surface (passage and query files in the formats users have); src/index.ts re-exports it.
export { iteratePassages, splitIntoPassages, CORPUS_FORMATS } from './passages.js';
export type { Passage, CorpusFormat } from './passages.js';
export {
  readMsMarcoQueries,
  readMsMarcoCollection,
  iterateMsMarcoCollection,
  iterateTsvRecords,
  readTsvRecords,
} from './msmarco.js';
export type { TsvRecord } from './msmarco.js';
export { iterateBeirCorpus, readBeirCorpus, readBeirQueries, beirDocumentText } from './beir.js';
export type { BeirRecord } from './beir.js';
export { readCandidateLists, candidatePassages } from './candidates.js';
export type { CandidateList, CandidateHit, ReadCandidatesOptions } from './candidates.js';
export { WarningTally, WARNING_CODES } from './warnings.js';
export type { InputWarning, WarningCode, WarningCount, WarningHandler } from './warnings.js';
