import { SemsearchError } from '../errors.js';
import { readLines } from './line-reader.js';
import type { WarningHandler } from './warnings.js';

/**
 * One record of a SMART-format file (Cranfield, CACM, and the other classic collections): `.I <id>`
 * followed by fields that each start with a `.X` marker line (`.T` title, `.W` text, `.A` authors ...).
 */
export interface SmartRecord {
  /** The id as written after `.I` ("001" in cran.qry). */
  rawId: string;
  line: number;
  /** Field letter → text; lines joined with "\n" and trimmed. A repeated field is appended to the first. */
  fields: Map<string, string>;
}

const MARKER = /^\.([A-Z])(?:\s+(.*))?$/;

/** Stream the records of a SMART file. */
export async function* iterateSmartRecords(path: string): AsyncGenerator<SmartRecord> {
  let current: { rawId: string; line: number; parts: Map<string, string[]> } | undefined;
  let field: string[] | undefined;
  const finish = (c: NonNullable<typeof current>): SmartRecord => ({
    rawId: c.rawId,
    line: c.line,
    fields: new Map([...c.parts].map(([k, v]) => [k, v.join('\n').trim()])),
  });
  for await (const { text, line } of readLines(path)) {
    const m = MARKER.exec(text.trimEnd());
    if (m !== null) {
      const letter = m[1] as string;
      const rest = (m[2] ?? '').trim();
      if (letter === 'I') {
        if (rest.length === 0) {
          throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: ".I" needs an id`, { file: path, line, field: 'I' });
        }
        if (current !== undefined) yield finish(current);
        current = { rawId: rest, line, parts: new Map() };
        field = undefined;
        continue;
      }
      if (current === undefined) {
        throw new SemsearchError('MALFORMED_LINE', `${path}:${line}: field .${letter} before the first .I`, { file: path, line });
      }
      // Corrupt copies repeat a marker inside a field (Cranfield doc 240 has .A/.B inside .W); keep every line.
      field = current.parts.get(letter);
      if (field === undefined) {
        field = [];
        current.parts.set(letter, field);
      }
      if (rest.length > 0) field.push(rest);
      continue;
    }
    if (field === undefined) {
      if (text.trim().length === 0) continue;
      throw new SemsearchError(
        'MALFORMED_LINE',
        `${path}:${line}: text outside any field (expected a ".I" or field marker line first)`,
        { file: path, line },
      );
    }
    field.push(text);
  }
  if (current !== undefined) yield finish(current);
}

/** Numeric SMART ids are zero-padded in places ("001", "01"); compare them as numbers, keep others as is. */
export function normalizeSmartId(raw: string): string {
  return /^\d+$/.test(raw) ? String(Number.parseInt(raw, 10)) : raw;
}

export interface SmartDoc {
  id: string;
  title: string;
  /** The `.W` field: the abstract (Cranfield's repeats the title first; many CACM docs have none). */
  text: string;
  fields: Map<string, string>;
}

/** Read a SMART document file (cran.all.1400, cacm.all) into documents keyed by normalized id. */
export async function readSmartDocs(path: string): Promise<Map<string, SmartDoc>> {
  const out = new Map<string, SmartDoc>();
  const lines = new Map<string, number>();
  for await (const r of iterateSmartRecords(path)) {
    const id = normalizeSmartId(r.rawId);
    const first = lines.get(id);
    if (first !== undefined) {
      throw new SemsearchError('DUPLICATE_ENTRY', `${path}:${r.line}: document ${id} appears twice (first at line ${first})`, {
        file: path,
        line: r.line,
        field: 'I',
      });
    }
    lines.set(id, r.line);
    out.set(id, { id, title: r.fields.get('T') ?? '', text: r.fields.get('W') ?? '', fields: r.fields });
  }
  if (out.size === 0) throw new SemsearchError('EMPTY_INPUT', `${path}: no .I records`, { file: path });
  return out;
}

/** The text to encode for a SMART document: title and abstract, without the abstract's repeat of the title. */
export function smartDocumentText(doc: SmartDoc): string {
  const t = doc.title.trim();
  const w = doc.text.trim();
  if (t.length === 0) return w;
  if (w.startsWith(t)) return w;
  return w.length === 0 ? t : `${t}\n${w}`;
}

export interface ReadSmartQueriesOptions {
  /**
   * How queries are numbered in the matching qrels. "id": by the `.I` value (CACM). "position": by place in
   * the file, 1, 2, 3 ... (Cranfield, whose `.I` values run 001..365 with gaps while its qrels say 1..225).
   */
  numbering: 'id' | 'position';
  onWarning?: WarningHandler;
}

/** Read SMART queries: query id (as the qrels use it) → the `.W` text. Records without text are skipped. */
export async function readSmartQueries(path: string, options: ReadSmartQueriesOptions): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const lines = new Map<string, number>();
  let position = 0;
  for await (const r of iterateSmartRecords(path)) {
    position++;
    const id = options.numbering === 'position' ? String(position) : normalizeSmartId(r.rawId);
    const text = r.fields.get('W') ?? '';
    if (text.length === 0) {
      // CACM's query.text ends with a stray ".I 0" that has no text.
      options.onWarning?.({
        code: 'EMPTY_QUERY',
        message: `${path}:${r.line}: query .I ${r.rawId} has no .W text; skipped`,
        file: path,
        line: r.line,
        query: id,
      });
      continue;
    }
    const first = lines.get(id);
    if (first !== undefined) {
      throw new SemsearchError('DUPLICATE_ENTRY', `${path}:${r.line}: query ${id} appears twice (first at line ${first})`, {
        file: path,
        line: r.line,
        field: 'I',
      });
    }
    lines.set(id, r.line);
    out.set(id, text);
  }
  if (out.size === 0) throw new SemsearchError('EMPTY_INPUT', `${path}: no queries with text`, { file: path });
  return out;
}

/** Cranfield's cran.qry, numbered by position as cranqrel numbers them (see the collection's SOURCE.md). */
export function readCranfieldQueries(path: string, onWarning?: WarningHandler): Promise<Map<string, string>> {
  return readSmartQueries(path, onWarning === undefined ? { numbering: 'position' } : { numbering: 'position', onWarning });
}

/** CACM's query.text, numbered by `.I`; the stray empty `.I 0` is skipped with an EMPTY_QUERY warning. */
export function readCacmQueries(path: string, onWarning?: WarningHandler): Promise<Map<string, string>> {
  return readSmartQueries(path, onWarning === undefined ? { numbering: 'id' } : { numbering: 'id', onWarning });
}
