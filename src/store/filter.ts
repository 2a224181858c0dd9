import { SemsearchError } from '../errors.js';
import type { FieldType } from './manifest.js';

/** A value a metadata field holds, and a filter compares with. */
export type FieldValue = string | number | boolean;

/** A document's metadata: field → value (null: the field is absent). */
export type Metadata = Record<string, FieldValue | null>;

/** Conditions on one field; several in one object must all hold. */
export interface FieldCondition {
  eq?: FieldValue;
  in?: FieldValue[];
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/**
 * A metadata filter, as JSON: `{ "year": 2020 }` (equality), `{ "year": { "gte": 2000, "lt": 2010 } }`,
 * `{ "lang": { "in": ["en", "de"] } }`, `{ "and": [...] }`, `{ "or": [...] }`, `{ "not": {...} }`. Several keys in
 * one object must all hold. `id` is always a field (the passage id). A document without a field matches no
 * condition on it, so `not` matches it.
 */
export type Filter = { and: Filter[] } | { or: Filter[] } | { not: Filter } | { [field: string]: FieldValue | FieldCondition | Filter[] | Filter };

/** Names a metadata field may not take: the filter's own words and the built-in fields. */
export const RESERVED_FIELDS: readonly string[] = ['id', 'text', 'and', 'or', 'not'];

const OPERATORS = ['eq', 'in', 'gt', 'gte', 'lt', 'lte'] as const;
const RANGE_SQL = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
/** Bounds that keep a compiled filter inside SQLite's limits on expression depth and bound parameters. */
const MAX_DEPTH = 32;
const MAX_VALUES = 10_000;
/**
 * The JSON nesting a filter within MAX_DEPTH can have: the root object, two levels (an array and an object) per
 * and/or (one per not), then a field's condition object and an `in` array. Deeper JSON is no filter at all.
 */
export const MAX_FILTER_JSON_DEPTH = 2 * MAX_DEPTH + 3;
/** The most JSON values (objects, arrays, keys' values, array items) one filter may hold. */
export const MAX_FILTER_JSON_VALUES = 50_000;

/**
 * Refuse a filter whose JSON nests deeper than MAX_FILTER_JSON_DEPTH or holds more than MAX_FILTER_JSON_VALUES
 * values, as FILTER_INVALID naming `field`. Iterative, with an explicit stack, so it is safe on any parsed JSON
 * (100,000 levels deep too) and runs before any recursive code (compileFilter, JSON.stringify, structured clone)
 * sees the value: the CLI calls it when --where is parsed, the server on its HTTP thread before a job is queued.
 */
export function checkFilterBounds(filter: unknown, field = 'filter'): void {
  const stack: [unknown, number][] = [[filter, 1]];
  let values = 1;
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_FILTER_JSON_DEPTH) {
      throw new SemsearchError(
        'FILTER_INVALID',
        `${field}: the filter's JSON nests more than ${MAX_FILTER_JSON_DEPTH} levels; filters nest and/or/not at most ${MAX_DEPTH} deep`,
        { field },
      );
    }
    const children = Array.isArray(v) ? (v as unknown[]) : Object.values(v);
    values += children.length;
    if (values > MAX_FILTER_JSON_VALUES) {
      throw new SemsearchError('FILTER_INVALID', `${field}: a filter holds at most ${MAX_FILTER_JSON_VALUES} JSON values (objects, arrays, numbers, strings)`, { field });
    }
    for (const c of children) stack.push([c, depth + 1]);
  }
}

/**
 * The most metadata fields an index holds. Each is a column of the document store: SQLite allows 2,000 in a table,
 * and each new one costs more to add than the last (3,000 in one write took 15.6 s, then failed).
 */
export const MAX_METADATA_FIELDS = 256;

/** The SQL column of a field in the document store (`id` is the passage id column). */
export function fieldColumn(name: string): string {
  return name === 'id' ? 'id' : `"f:${name.replace(/"/g, '""')}"`;
}

/** A value as SQLite stores it: booleans are 1 and 0. */
export function sqlValue(v: FieldValue): string | number {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

export interface CompiledFilter {
  /** A boolean SQL expression over the docs table's columns. */
  sql: string;
  params: (string | number)[];
  /** The filter as canonical JSON: equal filters give equal keys (for caching their row sets). */
  key: string;
}

function invalid(path: string, why: string): never {
  throw new SemsearchError('FILTER_INVALID', `${path}: ${why}`, { field: path });
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function checkValue(v: unknown, type: FieldType, path: string): FieldValue {
  if (type === 'number') {
    if (typeof v !== 'number' || !Number.isFinite(v)) invalid(path, `the field is a number; got ${JSON.stringify(v)}`);
  } else if (typeof v !== type) {
    invalid(path, `the field is a ${type}; got ${JSON.stringify(v)}`);
  }
  return v as FieldValue;
}

/**
 * Check a filter against the index's fields and turn it into SQL with bound parameters (no value is ever spliced
 * into the text). Unknown fields, unknown operators and values of the wrong type are FILTER_INVALID naming where.
 */
export function compileFilter(filter: unknown, fields: Readonly<Record<string, FieldType>>): CompiledFilter {
  checkFilterBounds(filter);
  const params: (string | number)[] = [];
  let values = 0;
  const known = (): string => {
    const names = ['id', ...Object.keys(fields)];
    return names.join(', ');
  };
  const node = (f: unknown, path: string, depth: number): string => {
    if (depth > MAX_DEPTH) invalid(path, `filters nest at most ${MAX_DEPTH} deep`);
    if (!isPlainObject(f)) invalid(path, `a filter is a JSON object, got ${JSON.stringify(f)}`);
    const keys = Object.keys(f);
    if (keys.length === 0) invalid(path, 'an empty filter object matches nothing in particular; give at least one condition');
    const parts = keys.map((key) => {
      const v = f[key];
      const at = `${path}.${key}`;
      if (key === 'and' || key === 'or') {
        if (!Array.isArray(v) || v.length === 0) invalid(at, `takes a non-empty array of filters`);
        const inner = v.map((x, i) => node(x, `${at}[${i}]`, depth + 1));
        return `(${inner.join(key === 'and' ? ' AND ' : ' OR ')})`;
      }
      if (key === 'not') return `(NOT ${node(v, at, depth + 1)})`;
      const type: FieldType | undefined = key === 'id' ? 'string' : Object.hasOwn(fields, key) ? fields[key] : undefined;
      if (type === undefined) invalid(at, `unknown field ${JSON.stringify(key)}; the index has ${known()}`);
      const col = fieldColumn(key);
      const cond: Record<string, unknown> = isPlainObject(v) ? v : { eq: v };
      const ops = Object.keys(cond);
      if (ops.length === 0) invalid(at, `give at least one of ${OPERATORS.join(', ')}`);
      const clauses = ops.map((op) => {
        const val = cond[op];
        const opPath = `${at}.${op}`;
        if (op === 'eq') {
          params.push(sqlValue(checkValue(val, type, opPath)));
          values++;
          return `COALESCE(${col} = ?, 0)`;
        }
        if (op === 'in') {
          if (!Array.isArray(val) || val.length === 0) invalid(opPath, 'takes a non-empty array of values');
          values += val.length;
          if (values > MAX_VALUES) invalid(opPath, `a filter compares with at most ${MAX_VALUES} values`);
          for (const [i, x] of val.entries()) params.push(sqlValue(checkValue(x, type, `${opPath}[${i}]`)));
          return `COALESCE(${col} IN (${val.map(() => '?').join(', ')}), 0)`;
        }
        if (op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') {
          if (type !== 'number') invalid(opPath, `ranges apply to number fields; ${key} is a ${type}`);
          params.push(checkValue(val, 'number', opPath) as number);
          values++;
          return `COALESCE(${col} ${RANGE_SQL[op]} ?, 0)`;
        }
        return invalid(opPath, `unknown operator; use ${OPERATORS.join(', ')}`);
      });
      if (values > MAX_VALUES) invalid(at, `a filter compares with at most ${MAX_VALUES} values`);
      return clauses.length === 1 ? (clauses[0] as string) : `(${clauses.join(' AND ')})`;
    });
    return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' AND ')})`;
  };
  const sql = node(filter, 'filter', 0);
  return { sql, params, key: canonical(filter) };
}

function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (isPlainObject(x)) return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical(x[k])}`).join(',')}}`;
  return JSON.stringify(x);
}

/** Field names semsearch stores: non-empty, at most 64 characters, no control characters, not reserved. */
export function checkFieldName(name: string, where: { file?: string; line?: number } = {}): void {
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 64 || /[\u0000-\u001f\u007f]/.test(name) || RESERVED_FIELDS.includes(name)) {
    throw new SemsearchError(
      'METADATA_INVALID',
      `metadata field name ${JSON.stringify(name)} cannot be stored: names are 1 to 64 characters without control characters, and not ${RESERVED_FIELDS.join(', ')}`,
      { ...where, field: name },
    );
  }
}

/** The type of a metadata value, or undefined for null (absent). */
export function typeOfValue(v: unknown): FieldType | undefined | 'invalid' {
  if (v === null) return undefined;
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isFinite(v) ? 'number' : 'invalid';
  if (typeof v === 'boolean') return 'boolean';
  return 'invalid';
}

/**
 * Check a batch's metadata against the index's fields (and itself): every value a string, finite number, boolean
 * or null, each field one type throughout. Returns the fields the batch adds. Throws METADATA_INVALID naming the
 * document and field; nothing is written before this passes.
 */
export function checkMetadata(
  docs: readonly { id: string; metadata?: Metadata | undefined; file?: string; line?: number }[],
  fields: Readonly<Record<string, FieldType>>,
): Record<string, FieldType> {
  const added: Record<string, FieldType> = {};
  const have = Object.keys(fields).length;
  for (const d of docs) {
    if (d.metadata === undefined) continue;
    const where = { ...(d.file !== undefined ? { file: d.file } : {}), ...(d.line !== undefined ? { line: d.line } : {}) };
    if (!isPlainObject(d.metadata)) throw new SemsearchError('METADATA_INVALID', `document ${d.id}: metadata must be an object of field → value`, { ...where, field: 'metadata' });
    for (const [name, v] of Object.entries(d.metadata)) {
      checkFieldName(name, where);
      const t = typeOfValue(v);
      if (t === undefined) continue;
      if (t === 'invalid') {
        throw new SemsearchError('METADATA_INVALID', `document ${d.id}: field ${name} is ${JSON.stringify(v)}; values are strings, finite numbers, booleans or null`, { ...where, field: name });
      }
      const want = Object.hasOwn(fields, name) ? fields[name] : added[name];
      if (want !== undefined && want !== t) {
        throw new SemsearchError('METADATA_INVALID', `document ${d.id}: field ${name} is a ${want} in this index, got the ${t} ${JSON.stringify(v)}`, { ...where, field: name });
      }
      if (want === undefined) {
        if (have + Object.keys(added).length >= MAX_METADATA_FIELDS) {
          throw new SemsearchError(
            'TOO_MANY_FIELDS',
            `document ${d.id}: field ${name} would be metadata field ${MAX_METADATA_FIELDS + 1} of the index (it holds ${have}${Object.keys(added).length > 0 ? `, and this write adds ${Object.keys(added).length}` : ''}); an index holds at most ${MAX_METADATA_FIELDS}: store the values under fields it has`,
            { ...where, field: name },
          );
        }
        added[name] = t;
      }
    }
  }
  return added;
}
