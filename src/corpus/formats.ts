import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { SemsearchError } from '../errors.js';
import { firstLine } from './line-reader.js';

/*
 * The one table of the file formats passages and queries come in, and the one place that guesses a format
 * from a path. Every command reads through it, so a format that works in `semsearch index` works in
 * `semsearch eval` and the other way round.
 */

/** Formats of a passage collection. */
export type CorpusFormat = 'msmarco' | 'beir' | 'candidates' | 'smart' | 'folder';

/** What each corpus format is, as `--help` and errors describe it. */
export const CORPUS_FORMAT_DESCRIPTIONS: Readonly<Record<CorpusFormat, string>> = {
  msmarco: 'MS MARCO collection.tsv: id<TAB>text per line',
  beir: 'BEIR corpus.jsonl: {"_id", "title", "text"} per line',
  candidates: "candidate-list JSON (rank_llm's retrieve_results_*.json), passages deduplicated",
  smart: 'SMART records (.I id, .T title, .W text): cran.all.1400, cacm.all',
  folder: 'a folder of .txt/.md files, split into passages of at most maxWords words',
};
export const CORPUS_FORMATS: readonly CorpusFormat[] = Object.keys(CORPUS_FORMAT_DESCRIPTIONS) as CorpusFormat[];

/** Formats of a query file. */
export type QueriesFormat = 'tsv' | 'trec' | 'beir' | 'cranfield' | 'smart';

/**
 * tsv: `qid<TAB>text` lines (MS MARCO queries.tsv, TREC DL topics); trec: those lines or classic `<top>` blocks;
 * beir: queries.jsonl; cranfield: SMART queries numbered by position, as cranqrel numbers them (cran.qry);
 * smart: SMART queries numbered by their `.I` id (CACM query.text).
 */
export const QUERIES_FORMATS: readonly QueriesFormat[] = ['tsv', 'trec', 'beir', 'cranfield', 'smart'];

const SMART_OPENING = /^\.I\s+\S/;

/** Whether a line opens a SMART record (`.I 1`). */
function opensSmartRecord(line: string): boolean {
  return SMART_OPENING.test(line);
}

/**
 * The format of a passage stream told from its first non-blank line alone (standard input has no name): a JSON
 * object is a BEIR JSONL record, a JSON array candidate lists, `.I <id>` SMART, a tab MS MARCO; else undefined.
 */
export function formatOfFirstLine(first: string): CorpusFormat | undefined {
  const t = first.replace(/^\uFEFF/, '').trimStart();
  if (t.startsWith('{')) return 'beir';
  if (t.startsWith('[')) return 'candidates';
  if (opensSmartRecord(first)) return 'smart';
  if (first.includes('\t')) return 'msmarco';
  return undefined;
}

/**
 * The format of a passage collection: a folder is a folder of text; `.jsonl` is BEIR; `.json` is candidate
 * lists; a file opening with `.I <id>` is SMART whatever its name (cran.all.1400 has no extension); a `.tsv`,
 * a `.txt` or a file whose first line has a tab is MS MARCO.
 */
export async function detectFormat(path: string): Promise<CorpusFormat> {
  let s;
  try {
    s = await stat(path);
  } catch (cause) {
    throw new SemsearchError('FILE_NOT_FOUND', `corpus ${path} does not exist`, { file: path, cause });
  }
  if (s.isDirectory()) return 'folder';
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl') return 'beir';
  if (ext === '.json') return 'candidates';
  const first = await firstLine(path);
  if (opensSmartRecord(first)) return 'smart';
  if (ext === '.tsv' || ext === '.txt' || first.includes('\t')) return 'msmarco';
  throw new SemsearchError(
    'INVALID_ARGUMENT',
    `cannot tell the corpus format of ${path} from its extension or first line; pass format (${CORPUS_FORMATS.join(', ')})`,
    { file: path, field: 'format' },
  );
}

/**
 * The format of a query file: `.jsonl` is BEIR; a SMART file is numbered by position when it is Cranfield's
 * cran.qry (its qrels count queries 1..225 while the `.I` values skip) and by `.I` otherwise (CACM); anything
 * else is TREC topics (`qid<TAB>text` or `<top>` blocks).
 */
export async function detectQueriesFormat(path: string): Promise<QueriesFormat> {
  if (extname(path).toLowerCase() === '.jsonl') return 'beir';
  if (opensSmartRecord(await firstLine(path))) return basename(path) === 'cran.qry' ? 'cranfield' : 'smart';
  return 'trec';
}
