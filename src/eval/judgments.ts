import { basename, extname } from 'node:path';
import { firstLine, splitFields } from '../corpus/line-reader.js';
import type { WarningHandler } from '../corpus/warnings.js';
import { readBeirQrels } from './beir-qrels.js';
import { readTrecQrels, type Qrels } from './qrels.js';
import { readCranfieldQrels, readSmartQrels } from './smart-qrels.js';

/** Layouts of a judgments file; "cacm" is the older name of "smart", kept for scripts that pass it. */
export type QrelsFormat = 'auto' | 'trec' | 'beir' | 'cranfield' | 'smart' | 'cacm';
export const QRELS_FORMATS: readonly QrelsFormat[] = ['auto', 'trec', 'beir', 'cranfield', 'smart', 'cacm'];

/** `qid docid 0 0.000000`: four fields whose last is a float, which TREC qrels (integer grades) never have. */
const SMART_SCORE_LINE = (line: string): boolean => {
  const f = splitFields(line);
  return f.length === 4 && /^\d+$/.test(f[0] as string) && /^\d+$/.test(f[1] as string) && /^[+-]?\d*\.\d+$/.test(f[3] as string);
};

/**
 * The layout of a judgments file. Cranfield's `cranqrel` and CACM's `qrels.text` by name (CACM's
 * "qid docid 0 0" would otherwise read as a TREC line with the docid in the iteration column); a `.tsv` with
 * BEIR's header as BEIR; a file whose first line ends in a float score as SMART; anything else as TREC.
 */
export async function detectQrelsFormat(path: string): Promise<Exclude<QrelsFormat, 'auto' | 'cacm'>> {
  const name = basename(path);
  if (name === 'cranqrel') return 'cranfield';
  if (name === 'qrels.text') return 'smart';
  const first = await firstLine(path);
  if (extname(name).toLowerCase() === '.tsv' && /^query-id\s/.test(first)) return 'beir';
  if (SMART_SCORE_LINE(first)) return 'smart';
  return 'trec';
}

/** Read judgments in any layout of QRELS_FORMATS. */
export async function readJudgments(path: string, format: QrelsFormat = 'auto', onWarning?: WarningHandler): Promise<Qrels> {
  const f = format === 'auto' ? await detectQrelsFormat(path) : format;
  switch (f) {
    case 'cranfield':
      return readCranfieldQrels(path, onWarning === undefined ? {} : { onWarning });
    case 'cacm':
    case 'smart':
      return readSmartQrels(path);
    case 'beir':
      return readBeirQrels(path);
    case 'trec':
      return readTrecQrels(path);
  }
}

/**
 * The relevance level used when none is given: trec_eval's default, 1 (grade >= 1 is relevant), whatever the
 * file is called. TREC DL's convention (grade >= 2) is asked for explicitly: `relevanceLevel: 2`, or a named
 * dataset of `semsearch eval --dataset` that carries it.
 */
export const DEFAULT_RELEVANCE_LEVEL = 1;

/** The highest grade in the judgments (0 when there are none): above 1, the judgments are graded. */
export function maxGrade(qrels: Qrels): number {
  let max = 0;
  for (const judged of qrels.values()) for (const g of judged.values()) if (g > max) max = g;
  return max;
}
