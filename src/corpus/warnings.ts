/**
 * Things trec_eval or sentence-transformers tolerate silently. semsearch tolerates them too (so its numbers
 * match theirs) but counts them, so a user sees that, say, 3 run queries had no judgments.
 */
export const WARNING_CODES = {
  RUN_QUERY_NOT_IN_QRELS: 'A run query has no judgments; trec_eval and sentence-transformers skip it',
  QRELS_QUERY_NOT_IN_RUN:
    'A judged query is missing from the run; trec_eval skips it (unless complete), sentence-transformers scores it 0',
  QUERY_WITHOUT_RELEVANT:
    'A judged query has no document at the relevance level; sentence-transformers skips it, trec_eval scores it 0',
  EMPTY_QUERY: 'A query record has no text and was skipped',
  CANDIDATES_WITHOUT_HITS: 'A candidate list has no hits, so its query id is unknown; it was skipped',
  UNDEFINED_RELEVANCE_CODE: 'A relevance code outside the documented ones was read as not relevant',
  DOCUMENT_WITHOUT_TEXT: 'A run document has no text to encode and was left out of the re-ranking',
} as const;

export type WarningCode = keyof typeof WARNING_CODES;

export interface InputWarning {
  code: WarningCode;
  message: string;
  file?: string;
  line?: number;
  query?: string;
}

export type WarningHandler = (warning: InputWarning) => void;

export interface WarningCount {
  code: WarningCode;
  count: number;
  /** The first occurrence, to start looking from. */
  example: InputWarning;
}

/** Counts warnings by code; pass `tally.add` wherever an `onWarning` handler is accepted. */
export class WarningTally {
  private readonly counts = new Map<WarningCode, WarningCount>();

  readonly add: WarningHandler = (warning) => {
    const c = this.counts.get(warning.code);
    if (c === undefined) this.counts.set(warning.code, { code: warning.code, count: 1, example: warning });
    else c.count++;
  };

  count(code: WarningCode): number {
    return this.counts.get(code)?.count ?? 0;
  }

  list(): WarningCount[] {
    return [...this.counts.values()];
  }
}
