import { SemsearchError } from '../errors.js';
import { readLines, splitFields } from '../corpus/line-reader.js';
import { parseRelevance, QrelsBuilder, type Qrels, type ReadQrelsOptions } from './qrels.js';

/**
 * BEIR qrels/<split>.tsv: `query-id<TAB>corpus-id<TAB>score` after a header line. BEIR's loader drops the
 * first line unread; here it is dropped only when it is not a judgment, so a headerless file loses nothing.
 */
export async function readBeirQrels(path: string, options: ReadQrelsOptions = {}): Promise<Qrels> {
  const builder = new QrelsBuilder(path, options.queries);
  let first = true;
  for await (const { text, line } of readLines(path)) {
    if (text.trim().length === 0) continue;
    const f = text.includes('\t') ? text.split('\t').map((s) => s.trim()) : splitFields(text);
    if (first) {
      first = false;
      if (f.length === 3 && !/^[+-]?\d+$/.test(f[2] as string)) continue;
    }
    if (f.length !== 3) {
      throw new SemsearchError(
        'MALFORMED_LINE',
        `${path}:${line}: a BEIR qrels line needs 3 fields (query-id corpus-id score), found ${f.length}`,
        { file: path, line },
      );
    }
    builder.add(f[0] as string, f[1] as string, parseRelevance(f[2] as string, path, line), line);
  }
  return builder.finish();
}
