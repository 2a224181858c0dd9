// The Cranfield mining set of the mine parity test, read by semsearch's own readers from ../shared (never copied into
// the project): tools/reference/export_cranfield_pairs.ts hands the same texts to Python for the fixture, which keeps
// only ids.
import { readPassages } from '../../corpus/passages.js';
import { readQueries } from '../../corpus/queries.js';
import { readJudgments } from '../../eval/judgments.js';
import { sharedFile } from '../../test-support/files.js';

export const CRANFIELD = ['cranfield', 'cran.all.1400'] as const;

export interface IdPairs {
  /** Anchor ids (query numbers), positive ids (document ids) and the extra candidate documents, with their texts. */
  anchorIds: string[];
  positiveIds: string[];
  corpusIds: string[];
  texts: { queries: Record<string, string>; docs: Record<string, string> };
}

/** The judged pairs of the first 20 queries that have any (every relevance code counts), and the first 250 documents. */
export async function cranfieldPairs(): Promise<IdPairs> {
  const queries = await readQueries(sharedFile('cranfield', 'cran.qry'), { format: 'cranfield' });
  const docs = await readPassages([sharedFile(...CRANFIELD)]);
  const qrels = await readJudgments(sharedFile('cranfield', 'cranqrel'));
  const anchorIds: string[] = [];
  const positiveIds: string[] = [];
  let taken = 0;
  for (const [qid, judged] of qrels) {
    if (taken === 20) break;
    if (!queries.has(qid)) continue;
    taken++;
    for (const docid of judged.keys()) {
      if (!docs.has(docid)) continue;
      anchorIds.push(qid);
      positiveIds.push(docid);
    }
  }
  const corpusIds = [...docs.keys()].slice(0, 250);
  const used = new Set([...positiveIds, ...corpusIds]);
  return {
    anchorIds,
    positiveIds,
    corpusIds,
    texts: {
      queries: Object.fromEntries([...new Set(anchorIds)].map((q) => [q, queries.get(q) as string])),
      docs: Object.fromEntries([...used].map((d) => [d, docs.get(d) as string])),
    },
  };
}
