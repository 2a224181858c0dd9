import { join } from 'node:path';
import { SemsearchError } from '../errors.js';
import type { EvalTaskSpec } from '../eval/tasks.js';

/*
 * Named datasets of `semsearch eval --dataset`: the TREC DL, Cranfield and CACM files as the project's shared
 * data folder lays them out. They belong to the command line, not the library: a library user names files.
 */

/**
 * The data folder the named datasets live in: `--data-dir`, else $SEMSEARCH_DATA. There is no default: the
 * library and the CLI know nothing of where a checkout keeps its data.
 */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag.length > 0) return flag;
  const fromEnv = env['SEMSEARCH_DATA'];
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  throw new SemsearchError('INVALID_ARGUMENT', 'a named dataset needs its data folder: pass --data-dir <folder> or set SEMSEARCH_DATA', {
    field: '--data-dir',
  });
}

/** rank_llm's retriever folders, under the short names the dataset shortcuts use. */
export const RETRIEVERS: Readonly<Record<string, string>> = {
  bm25: 'BM25',
  'bm25-rm3': 'BM25_RM3',
  tasb: 'D_BERT_KD_TASB',
  ada2: 'OPEN_AI_ADA2',
  repllama: 'REP_LLAMA',
  splade: 'SPLADE_P_P_ENSEMBLE_DISTIL',
};

const CANDIDATES = 'msmarco-passage-trec-dl-candidates';
const TOPICS = 'msmarco-passage-topics-qrels';

/**
 * The DL19 full-retrieval pool: every passage with text in the data folder. The ir_datasets-repaired
 * relevant subset comes first, so its text wins over the candidate files' raw (mojibake) copies; then every
 * retriever's candidate JSON, retrievers in folder-name order, DL19 before DL20 (the DL20 passages are extra
 * distractors). An id keeps the first text read. tools/reference/eval_real.py builds the same pool.
 */
export function dl19PoolFiles(dataDir: string): string[] {
  const files = [join(dataDir, 'msmarco-passage-dl19-relevant-subset', 'collection.tsv')];
  for (const dir of Object.values(RETRIEVERS).sort()) {
    for (const year of ['dl19', 'dl20']) files.push(join(dataDir, CANDIDATES, dir, `retrieve_results_${year}.json`));
  }
  return files;
}

export interface DatasetInfo {
  name: string;
  description: string;
}

/** Every dataset name that datasetSpec knows, with a line about each. */
export function listDatasets(): DatasetInfo[] {
  const out: DatasetInfo[] = [];
  for (const year of ['19', '20']) {
    for (const [short, dir] of Object.entries(RETRIEVERS)) {
      out.push({ name: `dl${year}-${short}-rerank`, description: `TREC DL 20${year} passage: re-rank the ${dir} candidate lists (rank_llm), graded qrels, level 2` });
    }
  }
  out.push({ name: 'dl19-pool', description: 'TREC DL 2019 passage: full retrieval over all ~31k passages with text (relevant subset + every candidate list)' });
  out.push({ name: 'cranfield', description: 'Cranfield 1400: full retrieval, 225 queries, codes 1..4 relevant (graded 4..1 for nDCG)' });
  out.push({ name: 'cacm', description: 'CACM: full retrieval over 3,204 abstracts, 64 queries (52 with relevant documents)' });
  return out;
}

/** The files and settings behind a dataset name (see listDatasets), under `dataDir`. */
export function datasetSpec(name: string, dataDir: string): EvalTaskSpec {
  const rerank = /^dl(19|20)-(.+)-rerank$/.exec(name);
  if (rerank !== null) {
    const year = rerank[1] as string;
    const dir = RETRIEVERS[rerank[2] as string];
    if (dir !== undefined) {
      return {
        name,
        rerank: join(dataDir, CANDIDATES, dir, `retrieve_results_dl${year}.json`),
        queries: join(dataDir, TOPICS, year === '19' ? 'topics.dl19-passage.txt' : 'topics.dl20.txt'),
        qrels: join(dataDir, TOPICS, `qrels.dl${year}-passage.txt`),
        relevanceLevel: 2,
      };
    }
  }
  switch (name) {
    case 'dl19-pool':
      return {
        name,
        corpus: dl19PoolFiles(dataDir),
        queries: join(dataDir, TOPICS, 'topics.dl19-passage.txt'),
        qrels: join(dataDir, TOPICS, 'qrels.dl19-passage.txt'),
        relevanceLevel: 2,
      };
    case 'cranfield':
      return {
        name,
        corpus: [join(dataDir, 'cranfield', 'cran.all.1400')],
        queries: join(dataDir, 'cranfield', 'cran.qry'),
        queriesFormat: 'cranfield',
        qrels: join(dataDir, 'cranfield', 'cranqrel'),
        qrelsFormat: 'cranfield',
        relevanceLevel: 1,
      };
    case 'cacm':
      return {
        name,
        corpus: [join(dataDir, 'cacm', 'cacm.all')],
        queries: join(dataDir, 'cacm', 'query.text'),
        queriesFormat: 'smart',
        qrels: join(dataDir, 'cacm', 'qrels.text'),
        qrelsFormat: 'cacm',
        relevanceLevel: 1,
      };
    default:
      throw new SemsearchError('INVALID_ARGUMENT', `unknown dataset "${name}"; known: ${listDatasets().map((d) => d.name).join(', ')}`, {
        field: 'dataset',
      });
  }
}
