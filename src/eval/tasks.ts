import { open } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SemsearchError } from '../errors.js';
import { beirDocumentText, iterateBeirCorpus, readBeirQueries } from '../corpus/beir.js';
import { readBeirQrels } from './beir-qrels.js';
import { candidatePassages, readCandidateLists } from '../corpus/candidates.js';
import { assertReadableFile } from '../corpus/line-reader.js';
import { iterateMsMarcoCollection } from '../corpus/msmarco.js';
import { readTrecQrels, type Qrels } from './qrels.js';
import { candidatesToRun, readTrecRun, type Run } from './run.js';
import { readCacmQrels, readCranfieldQrels, readSmartDocs, readSmartQueries, smartDocumentText } from './smart.js';
import { readTrecTopics } from './topics.js';
import type { WarningHandler } from '../corpus/warnings.js';

/*
 * What `semsearch eval` evaluates, read from files: queries, judgments, and either a corpus to search
 * (full retrieval) or a first-stage run to re-rank. Formats are told apart by name and first line, so the
 * classic collections work with their files as distributed; the *Format options override the guess.
 */

export type QueriesFormat = 'auto' | 'tsv' | 'trec' | 'beir' | 'cranfield' | 'smart';
export type QrelsFormat = 'auto' | 'trec' | 'beir' | 'cranfield' | 'cacm';
export const QUERIES_FORMATS: readonly QueriesFormat[] = ['auto', 'tsv', 'trec', 'beir', 'cranfield', 'smart'];
export const QRELS_FORMATS: readonly QrelsFormat[] = ['auto', 'trec', 'beir', 'cranfield', 'cacm'];

/** Files (and settings) of one evaluation. Exactly one of `rerank` and a corpus-only setup is used. */
export interface EvalTaskSpec {
  /** A label for reports (a dataset name, or the file names). */
  name?: string;
  /**
   * Re-ranking: a TREC run file or a candidate-list JSON (rank_llm's retrieve_results_*.json, which carries
   * the query and passage texts). Without it, the task is full retrieval over `corpus`.
   */
  rerank?: string;
  /**
   * Passage files: MS MARCO collection.tsv (`id<TAB>text`), BEIR corpus.jsonl, a SMART document file
   * (cran.all.1400, cacm.all) or candidate-list JSON. Several files form one corpus, in the order given; an id
   * already read keeps its first text. With `rerank`, they supply the texts of the run's documents.
   */
  corpus?: readonly string[];
  /**
   * Full retrieval over an index built by `semsearch index` (buildIndex) instead of encoding `corpus`: only
   * the queries are encoded, with the model the index was built with.
   */
  index?: string;
  /** Queries: TREC topics (`qid<TAB>text` or `<top>`), BEIR queries.jsonl, SMART queries (cran.qry, query.text). */
  queries?: string;
  queriesFormat?: QueriesFormat;
  qrels: string;
  qrelsFormat?: QrelsFormat;
  /** Grade at which a document is relevant for the binary measures; default: see defaultRelevanceLevel. */
  relevanceLevel?: number;
  /** Re-ranking a run whose documents lack text: "error" (default) or "drop" them with a warning. */
  missingText?: 'error' | 'drop';
}

interface TaskBase {
  name: string;
  queries: Map<string, string>;
  qrels: Qrels;
  relevanceLevel: number;
}

/** A corpus to search: id → text, in corpus order (the order decides how equal scores are broken). */
export interface RetrievalTask extends TaskBase {
  mode: 'retrieve';
  /** Empty when `index` is set. */
  corpus: Map<string, string>;
  /** An index folder to search instead of the corpus. */
  index?: string;
}

/** A first-stage run to re-score, with the texts of its documents. */
export interface RerankTask extends TaskBase {
  mode: 'rerank';
  candidates: Run;
  passages: Map<string, string>;
  missingText: 'error' | 'drop';
}

export type EvalTask = RetrievalTask | RerankTask;

async function firstLine(path: string): Promise<string> {
  await assertReadableFile(path);
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
    return text.split('\n').find((l) => l.trim().length > 0) ?? '';
  } finally {
    await fh.close();
  }
}

const isSmart = (line: string): boolean => /^\.I\s+\S/.test(line);

/** Add one passage file's records to `out`; an id already there keeps its earlier text. */
async function addPassages(path: string, out: Map<string, string>, onWarning?: WarningHandler): Promise<void> {
  const ext = extname(path).toLowerCase();
  let records = 0;
  const add = (id: string, text: string): void => {
    records++;
    if (!out.has(id)) out.set(id, text);
  };
  if (ext === '.json') {
    const lists = await readCandidateLists(path, onWarning === undefined ? {} : { onWarning });
    for (const [id, text] of candidatePassages(lists)) add(id, text);
  } else if (ext === '.jsonl') {
    for await (const r of iterateBeirCorpus(path)) add(r.id, beirDocumentText(r));
  } else if (isSmart(await firstLine(path))) {
    for (const [id, doc] of await readSmartDocs(path)) add(id, smartDocumentText(doc));
  } else {
    for await (const r of iterateMsMarcoCollection(path)) add(r.id, r.text);
  }
  // A file that only repeats ids is fine in a pool; one with no record at all is a mistake.
  if (records === 0) throw new SemsearchError('EMPTY_INPUT', `${path}: no passages`, { file: path });
}

/** Read passage files into one id → text map (first file listing an id wins). */
export async function readPassages(paths: readonly string[], onWarning?: WarningHandler): Promise<Map<string, string>> {
  if (paths.length === 0) throw new SemsearchError('INVALID_ARGUMENT', 'no corpus file given', { field: 'corpus' });
  const out = new Map<string, string>();
  for (const p of paths) await addPassages(p, out, onWarning);
  if (out.size === 0) throw new SemsearchError('EMPTY_INPUT', `no passages in ${paths.join(', ')}`, { file: paths[0] as string });
  return out;
}

/**
 * Read queries in any of the supported layouts. "auto": `.jsonl` is BEIR; a SMART file (`.I` records) is
 * numbered by position when it is Cranfield's cran.qry (its qrels count queries 1..225 while the `.I` values
 * skip) and by `.I` otherwise (CACM); anything else is TREC topics (`qid<TAB>text` or `<top>` blocks).
 */
export async function readQueries(path: string, format: QueriesFormat = 'auto', onWarning?: WarningHandler): Promise<Map<string, string>> {
  let f = format;
  if (f === 'auto') {
    if (extname(path).toLowerCase() === '.jsonl') f = 'beir';
    else if (isSmart(await firstLine(path))) f = basename(path) === 'cran.qry' ? 'cranfield' : 'smart';
    else f = 'trec';
  }
  const warn = onWarning === undefined ? {} : { onWarning };
  switch (f) {
    case 'beir':
      return readBeirQueries(path);
    case 'cranfield':
      return readSmartQueries(path, { numbering: 'position', ...warn });
    case 'smart':
      return readSmartQueries(path, { numbering: 'id', ...warn });
    default:
      return readTrecTopics(path);
  }
}

/**
 * Read judgments. "auto": Cranfield's `cranqrel` and CACM's `qrels.text` by name (CACM's "qid docid 0 0"
 * would otherwise read as a TREC line with the docid in the iteration column), a `.tsv` with BEIR's header
 * as BEIR, anything else as TREC qrels.
 */
export async function readJudgments(path: string, format: QrelsFormat = 'auto', onWarning?: WarningHandler): Promise<Qrels> {
  let f = format;
  if (f === 'auto') {
    const name = basename(path);
    if (name === 'cranqrel') f = 'cranfield';
    else if (name === 'qrels.text') f = 'cacm';
    else if (extname(name).toLowerCase() === '.tsv' && /^query-id\s/.test(await firstLine(path))) f = 'beir';
    else f = 'trec';
  }
  switch (f) {
    case 'cranfield':
      return readCranfieldQrels(path, onWarning === undefined ? {} : { onWarning });
    case 'cacm':
      return readCacmQrels(path);
    case 'beir':
      return readBeirQrels(path);
    default:
      return readTrecQrels(path);
  }
}

/**
 * The relevance level the data calls for when none is given: TREC DL qrels (graded 0..3, where MAP, MRR and
 * recall count grade >= 2 as relevant) get 2; everything else 1.
 */
export function defaultRelevanceLevel(qrelsPath: string): number {
  return /dl(19|20)|dl-?20(19|20)|trec-?dl|20(19|20)qrels-pass/i.test(basename(qrelsPath)) ? 2 : 1;
}

/** Read every file of a task spec. */
export async function loadEvalTask(spec: EvalTaskSpec, onWarning?: WarningHandler): Promise<EvalTask> {
  const relevanceLevel = spec.relevanceLevel ?? defaultRelevanceLevel(spec.qrels);
  if (!Number.isFinite(relevanceLevel)) {
    throw new SemsearchError('INVALID_ARGUMENT', `relevanceLevel must be a number, got ${relevanceLevel}`, { field: 'relevanceLevel' });
  }
  const qrels = await readJudgments(spec.qrels, spec.qrelsFormat ?? 'auto', onWarning);
  const warn = onWarning === undefined ? {} : { onWarning };
  if (spec.rerank === undefined && spec.index !== undefined) {
    if (spec.corpus !== undefined && spec.corpus.length > 0) {
      throw new SemsearchError('INVALID_ARGUMENT', 'give either an index or a corpus to search, not both', { field: 'index' });
    }
    if (spec.queries === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'full retrieval needs queries', { field: 'queries' });
    const queries = await readQueries(spec.queries, spec.queriesFormat ?? 'auto', onWarning);
    return { mode: 'retrieve', name: spec.name ?? basename(spec.index), queries, qrels, relevanceLevel, corpus: new Map(), index: spec.index };
  }
  if (spec.rerank === undefined) {
    if (spec.corpus === undefined || spec.corpus.length === 0) {
      throw new SemsearchError('INVALID_ARGUMENT', 'full retrieval needs a corpus (or pass a run to re-rank)', { field: 'corpus' });
    }
    if (spec.queries === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'full retrieval needs queries', { field: 'queries' });
    const queries = await readQueries(spec.queries, spec.queriesFormat ?? 'auto', onWarning);
    const corpus = await readPassages(spec.corpus, onWarning);
    return { mode: 'retrieve', name: spec.name ?? basename(spec.corpus[0] as string), queries, qrels, relevanceLevel, corpus };
  }
  const name = spec.name ?? basename(spec.rerank);
  const missingText = spec.missingText ?? 'error';
  if (extname(spec.rerank).toLowerCase() === '.json') {
    // Candidate lists carry their own texts; --queries / --corpus, when given, take precedence.
    const lists = await readCandidateLists(spec.rerank, warn);
    const queries = spec.queries !== undefined ? await readQueries(spec.queries, spec.queriesFormat ?? 'auto', onWarning) : new Map(lists.map((l) => [l.qid, l.query]));
    const passages = candidatePassages(lists);
    if (spec.corpus !== undefined && spec.corpus.length > 0) {
      const given = await readPassages(spec.corpus, onWarning);
      for (const [id, text] of passages) if (!given.has(id)) given.set(id, text);
      return { mode: 'rerank', name, queries, qrels, relevanceLevel, candidates: candidatesToRun(lists), passages: given, missingText };
    }
    return { mode: 'rerank', name, queries, qrels, relevanceLevel, candidates: candidatesToRun(lists), passages, missingText };
  }
  if (spec.queries === undefined) {
    throw new SemsearchError('INVALID_ARGUMENT', `re-ranking the run file ${spec.rerank} needs the query texts (queries)`, { field: 'queries' });
  }
  if (spec.corpus === undefined || spec.corpus.length === 0) {
    throw new SemsearchError('INVALID_ARGUMENT', `re-ranking the run file ${spec.rerank} needs the passage texts (corpus)`, { field: 'corpus' });
  }
  const queries = await readQueries(spec.queries, spec.queriesFormat ?? 'auto', onWarning);
  const candidates = await readTrecRun(spec.rerank);
  const passages = await readPassages(spec.corpus, onWarning);
  return { mode: 'rerank', name, queries, qrels, relevanceLevel, candidates, passages, missingText };
}

// ---- named datasets in ../shared/data ----

/** The repository's sibling data folder: src/eval (or dist/eval) → ../../../shared/data. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['SEMSEARCH_DATA'];
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  return fileURLToPath(new URL('../../../shared/data/', import.meta.url));
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
export function datasetSpec(name: string, dataDir: string = defaultDataDir()): EvalTaskSpec {
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
