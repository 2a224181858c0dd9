import { SemsearchError } from '../errors.js';
import { assertReadableFile, firstLine, readTextFile } from './line-reader.js';
import { readTsvRecords } from './msmarco.js';

/** The parts of a classic TREC topic (`<top><num><title><desc><narr></top>`). */
export interface TrecTopic {
  title: string;
  description: string;
  narrative: string;
}

export interface ReadTopicsOptions {
  /** Which part of a classic TREC topic becomes the query text. Defaults to "title". */
  field?: keyof TrecTopic;
}

/**
 * Read TREC topics: query id → query text. Accepts the two layouts in use: the `qid<TAB>query` lines of
 * the TREC DL and MS MARCO topic files (Anserini's topics.dl19-passage.txt, topics.dl20.txt), and the
 * classic SGML-like `<top>` blocks of the ad hoc tracks. The layout is told by whether the file opens
 * with `<top>`.
 */
export async function readTrecTopics(path: string, options: ReadTopicsOptions = {}): Promise<Map<string, string>> {
  if (/^\s*<top>/i.test(await firstLine(path))) {
    const topics = await readSgmlTopics(path);
    const field = options.field ?? 'title';
    return new Map([...topics].map(([qid, t]) => [qid, t[field]]));
  }
  return readTsvRecords(path, 'query');
}

const TAG = /<(\/top|top|num|title|desc|narr)>/gi;

/** Parse classic TREC `<top>` topics; the tags are not closed, so each field runs to the next tag. */
export async function readSgmlTopics(path: string): Promise<Map<string, TrecTopic>> {
  await assertReadableFile(path);
  const text = (await readTextFile(path)).replace(/\r\n?/g, '\n');
  const out = new Map<string, TrecTopic>();
  const lineAt = (offset: number): number => text.slice(0, offset).split('\n').length;
  let current: { num?: string; parts: Record<string, string>; start: number } | undefined;
  let field: string | undefined;
  let fieldStart = 0;
  const close = (end: number): void => {
    if (current !== undefined && field !== undefined) current.parts[field] = text.slice(fieldStart, end);
    field = undefined;
  };
  for (const m of text.matchAll(TAG)) {
    const tag = (m[1] as string).toLowerCase();
    const at = m.index ?? 0;
    close(at);
    if (tag === 'top') {
      current = { parts: {}, start: at };
    } else if (tag === '/top') {
      if (current === undefined) {
        throw new SemsearchError('MALFORMED_LINE', `${path}:${lineAt(at)}: </top> without <top>`, { file: path, line: lineAt(at) });
      }
      const numText = (current.parts['num'] ?? '').replace(/^\s*Number:\s*/i, '').trim();
      if (numText.length === 0) {
        throw new SemsearchError('MALFORMED_LINE', `${path}:${lineAt(current.start)}: topic has no <num>`, {
          file: path,
          line: lineAt(current.start),
          field: 'num',
        });
      }
      if (out.has(numText)) {
        throw new SemsearchError('DUPLICATE_ENTRY', `${path}:${lineAt(current.start)}: topic ${numText} appears twice`, {
          file: path,
          line: lineAt(current.start),
          field: 'num',
        });
      }
      const clean = (s: string | undefined, label: RegExp): string => (s ?? '').replace(label, '').replace(/\s+/g, ' ').trim();
      out.set(numText, {
        title: clean(current.parts['title'], /^\s*Topic:\s*/i),
        description: clean(current.parts['desc'], /^\s*Description:\s*/i),
        narrative: clean(current.parts['narr'], /^\s*Narrative:\s*/i),
      });
      current = undefined;
    } else {
      field = tag;
      fieldStart = at + m[0].length;
    }
  }
  if (current !== undefined) {
    throw new SemsearchError('MALFORMED_LINE', `${path}:${lineAt(current.start)}: <top> is never closed`, {
      file: path,
      line: lineAt(current.start),
    });
  }
  if (out.size === 0) throw new SemsearchError('EMPTY_INPUT', `${path}: no <top> topics`, { file: path });
  return out;
}
