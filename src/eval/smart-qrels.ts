import { SemsearchError } from '../errors.js';
import { readLines, splitFields } from '../corpus/line-reader.js';
import { normalizeSmartId } from '../corpus/smart.js';
import type { WarningHandler } from '../corpus/warnings.js';
import { QrelsBuilder, type Qrels, type ReadQrelsOptions } from './qrels.js';

// Judgments of the SMART collections; their documents and queries are read by corpus/smart.ts.

export interface ReadCranfieldQrelsOptions extends ReadQrelsOptions {
  /**
   * Keep Cranfield's own codes (1 = complete answer ... 4 = minimum interest, -1 = no interest). By default
   * they become grades where higher is better, as trec_eval's gains and relevance levels assume:
   * 1→4, 2→3, 3→2, 4→1, and -1 or 5 (no interest) → 0. Then "relevant = codes 1..4" is relevance level 1
   * and the stricter "codes 1..3" is level 2.
   */
  raw?: boolean;
  onWarning?: WarningHandler;
}

/** Cranfield's cranqrel: `<query#> <docid> <code>`. */
export async function readCranfieldQrels(path: string, options: ReadCranfieldQrelsOptions = {}): Promise<Qrels> {
  const builder = new QrelsBuilder(path, options.queries);
  for await (const { text, line } of readLines(path)) {
    const f = splitFields(text);
    if (f.length === 0) continue;
    if (f.length !== 3 || !f.every((x) => /^-?\d+$/.test(x))) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: expected "<query#> <docid> <code>" as three integers`, {
        file: path,
        line,
      });
    }
    const code = Number.parseInt(f[2] as string, 10);
    let grade = code;
    if (options.raw !== true) {
      if (code >= 1 && code <= 4) grade = 5 - code;
      else {
        grade = 0;
        if (code !== -1 && code !== 5) {
          options.onWarning?.({
            code: 'UNDEFINED_RELEVANCE_CODE',
            message: `${path}:${line}: code ${code} is not one of Cranfield's (1..5, -1); read as not relevant`,
            file: path,
            line,
          });
        }
      }
    }
    builder.add(normalizeSmartId(f[0] as string), normalizeSmartId(f[1] as string), grade, line);
  }
  return builder.finish();
}

/**
 * SMART-style judgments: `<qid> <docid>`, optionally followed by `0` and a score, every listed pair relevant
 * (relevance 1). CACM's qrels.text writes `01 1410 0 0`; CISI, MED and the other SMART collections write a
 * float score (`1 28 0 0.000000`), which is no grade: TREC qrels would refuse it as a relevance.
 */
export async function readSmartQrels(path: string, options: ReadQrelsOptions = {}): Promise<Qrels> {
  const builder = new QrelsBuilder(path, options.queries);
  for await (const { text, line } of readLines(path)) {
    const f = splitFields(text);
    if (f.length === 0) continue;
    if (f.length > 4 || f.length < 2 || !/^\d+$/.test(f[0] as string) || !/^\d+$/.test(f[1] as string)) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: expected "<qid> <docid> [0 [score]]" with numeric ids`, {
        file: path,
        line,
      });
    }
    const bad = f.slice(2).findIndex((x) => !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(x));
    if (bad >= 0) {
      throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: field ${bad + 3} ("${f[bad + 2]}") is not a number`, { file: path, line });
    }
    builder.add(normalizeSmartId(f[0] as string), normalizeSmartId(f[1] as string), 1, line);
  }
  return builder.finish();
}

/** CACM's qrels.text (`<qid> <docid> 0 0`): SMART-style judgments. */
export const readCacmQrels = readSmartQrels;
