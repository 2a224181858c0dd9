import { readBeirQueries } from './beir.js';
import { detectQueriesFormat, type QueriesFormat } from './formats.js';
import { readTsvRecords } from './msmarco.js';
import { readSmartQueries } from './smart.js';
import { readTrecTopics } from './topics.js';
import type { WarningHandler } from './warnings.js';

export interface ReadQueriesOptions {
  /** The file's layout; detectQueriesFormat guesses it when absent or "auto". */
  format?: QueriesFormat | 'auto';
  /** Told of queries skipped (a SMART record without text). */
  onWarning?: WarningHandler;
}

/** Read a query file in any of the formats of QUERIES_FORMATS: query id → query text. */
export async function readQueries(path: string, options: ReadQueriesOptions = {}): Promise<Map<string, string>> {
  const format = options.format === undefined || options.format === 'auto' ? await detectQueriesFormat(path) : options.format;
  const warn = options.onWarning === undefined ? {} : { onWarning: options.onWarning };
  switch (format) {
    case 'beir':
      return readBeirQueries(path);
    case 'cranfield':
      return readSmartQueries(path, { numbering: 'position', ...warn });
    case 'smart':
      return readSmartQueries(path, { numbering: 'id', ...warn });
    case 'tsv':
      return readTsvRecords(path, 'query');
    case 'trec':
      return readTrecTopics(path);
  }
}
