import { SemsearchError } from '../errors.js';

/** One query's retrieved documents, in the order given (file order or search order) with their scores. */
export interface RankedList {
  docids: string[];
  scores: number[];
}

/** A run: query id → its ranked list. Map order is the order queries first appeared. */
export type Run = Map<string, RankedList>;

/**
 * Refuse a ranked list that names a document twice: trec_eval stops on it ("duplicate docs"), and counting it
 * twice would inflate every measure. Runs read from files are checked line by line already; this guards runs
 * built in code.
 */
export function assertUniqueDocids(qid: string, list: RankedList): void {
  if (list.docids.length !== list.scores.length) {
    throw new SemsearchError('SHAPE_MISMATCH', `query ${qid} has ${list.docids.length} docids but ${list.scores.length} scores`, {
      field: 'run',
    });
  }
  const seen = new Set<string>();
  for (const d of list.docids) {
    if (seen.has(d)) {
      throw new SemsearchError('DUPLICATE_ENTRY', `query ${qid} ranks document ${d} twice`, { field: 'run' });
    }
    seen.add(d);
  }
}
