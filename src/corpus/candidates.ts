import { SemsearchError } from '../errors.js';
import { assertReadableFile, readTextFile } from './line-reader.js';
import type { WarningHandler } from './warnings.js';

/** One candidate passage of a first-stage ranking, with its text. */
export interface CandidateHit {
  docid: string;
  score: number;
  rank: number;
  content: string;
}

/** One query's candidates, as rank_llm writes them (`retrieve_results_*.json`). */
export interface CandidateList {
  qid: string;
  query: string;
  hits: CandidateHit[];
}

export interface ReadCandidatesOptions {
  /** When given, a list for any other query is an UNKNOWN_QUERY error. */
  queries?: ReadonlySet<string> | ReadonlyMap<string, unknown>;
  onWarning?: WarningHandler;
}

/** The 1-based line of a character offset, so a JSON syntax error points into the file. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Where JSON.parse gave up. Node 20's messages no longer carry a position, so on failure (only then) the
 * text is scanned again by this small validator, which stops at the first character the grammar refuses.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const stop = { at: 0 };
  const fail = (at = i): never => {
    stop.at = at;
    throw stop;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fail();
      const c = text.charCodeAt(i);
      if (c === 34) return void i++;
      if (c < 32) fail();
      if (c === 92) {
        i++;
        const e = text[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) fail(i + k);
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail();
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m === null || m[0].length === 0) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else number();
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (e) {
    if (e === stop) return Math.min(stop.at, text.length);
    throw e;
  }
}

function bad(path: string, field: string, message: string): SemsearchError {
  return new SemsearchError('MALFORMED_LINE', `${path}: ${field}: ${message}`, { file: path, field });
}

function idOf(v: unknown, path: string, field: string): string {
  // rank_llm writes qid as a number in most files and as a string in the RepLLaMA ones.
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  throw bad(path, field, `must be a non-empty string or an integer, got ${JSON.stringify(v)}`);
}

/**
 * Read a candidate-list JSON file: `[{"query": str, "hits": [{"qid", "docid", "rank", "score", "content"}]}]`.
 * The query id comes from the hits; a list without hits cannot be placed and is skipped with a
 * CANDIDATES_WITHOUT_HITS warning. Structural errors name the JSON path (e.g. `[3].hits[7].score`).
 */
export async function readCandidateLists(path: string, options: ReadCandidatesOptions = {}): Promise<CandidateList[]> {
  await assertReadableFile(path);
  const text = await readTextFile(path);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    const msg = (cause as Error).message;
    const at = jsonErrorOffset(text);
    const line = at < 0 ? undefined : lineOf(text, at);
    throw new SemsearchError('MALFORMED_LINE', `${path}${line === undefined ? '' : `:${line}`}: not valid JSON (${msg})`, {
      file: path,
      ...(line === undefined ? {} : { line }),
      cause,
    });
  }
  if (!Array.isArray(data)) throw bad(path, '$', 'the file must hold a JSON array of {query, hits}');
  const out: CandidateList[] = [];
  const seenQueries = new Map<string, number>();
  data.forEach((item: unknown, i) => {
    const at = `[${i}]`;
    if (typeof item !== 'object' || item === null) throw bad(path, at, 'must be an object {query, hits}');
    const { query, hits } = item as { query?: unknown; hits?: unknown };
    if (typeof query !== 'string') throw bad(path, `${at}.query`, 'must be a string');
    if (!Array.isArray(hits)) throw bad(path, `${at}.hits`, 'must be an array');
    if (hits.length === 0) {
      options.onWarning?.({ code: 'CANDIDATES_WITHOUT_HITS', message: `${path}: ${at} ("${query}") has no hits; skipped`, file: path });
      return;
    }
    let qid: string | undefined;
    const seenDocs = new Set<string>();
    const list: CandidateHit[] = hits.map((h: unknown, j) => {
      const hat = `${at}.hits[${j}]`;
      if (typeof h !== 'object' || h === null) throw bad(path, hat, 'must be an object');
      const r = h as Record<string, unknown>;
      const hq = idOf(r['qid'], path, `${hat}.qid`);
      if (qid === undefined) qid = hq;
      else if (hq !== qid) throw bad(path, `${hat}.qid`, `is ${hq} but the list's first hit says ${qid}`);
      const docid = idOf(r['docid'], path, `${hat}.docid`);
      if (seenDocs.has(docid)) {
        throw new SemsearchError('DUPLICATE_ENTRY', `${path}: ${hat}: document ${docid} is listed twice for query ${qid}`, {
          file: path,
          field: `${hat}.docid`,
        });
      }
      seenDocs.add(docid);
      const score = r['score'];
      if (typeof score !== 'number' || !Number.isFinite(score)) throw bad(path, `${hat}.score`, 'must be a finite number');
      const rank = r['rank'] ?? j + 1;
      if (typeof rank !== 'number' || !Number.isInteger(rank)) throw bad(path, `${hat}.rank`, 'must be an integer');
      const content = r['content'];
      if (typeof content !== 'string') throw bad(path, `${hat}.content`, 'must be a string');
      return { docid, score, rank, content };
    });
    const id = qid as string;
    if (options.queries !== undefined && !options.queries.has(id)) {
      throw new SemsearchError('UNKNOWN_QUERY', `${path}: ${at}: query ${id} is not among the given queries`, {
        file: path,
        field: `${at}.hits[0].qid`,
      });
    }
    const prev = seenQueries.get(id);
    if (prev !== undefined) {
      throw new SemsearchError('DUPLICATE_ENTRY', `${path}: ${at}: query ${id} already has a list at [${prev}]`, {
        file: path,
        field: `${at}.hits[0].qid`,
      });
    }
    seenQueries.set(id, i);
    out.push({ qid: id, query, hits: list });
  });
  if (out.length === 0) throw new SemsearchError('EMPTY_INPUT', `${path}: no candidate lists with hits`, { file: path });
  return out;
}

/** Every distinct passage of the lists: docid → text (the first text seen; copies differ only in whitespace). */
export function candidatePassages(lists: readonly CandidateList[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lists) for (const h of l.hits) if (!out.has(h.docid)) out.set(h.docid, h.content);
  return out;
}
