import { SemsearchError } from '../errors.js';
import { compileFilter, isPlainObject, type FieldCondition, type FieldValue, type Filter } from '../store/filter.js';
import type { FieldType } from '../store/manifest.js';
import { METADATA_FIELD, type SpaceType } from './mapping.js';

/**
 * Candidates each shard is asked for, per hit wanted. Recall falls as the corpus grows (docs/SCALE-OUT.md, MS MARCO
 * dev queries): 5 found 0.92–0.95 of the exact top-10 over 31k passages but 0.88–0.93 over 194k; 10 found 0.98 and
 * 0.93–0.96, for 1–2 ms more per search.
 */
export const DEFAULT_OVERSAMPLE = 10;
/** Oversampling as given by a caller: an integer from 1 to 100. */
export function checkOversample(o: number): number {
  if (!Number.isInteger(o) || o < 1 || o > 100) throw new SemsearchError('INVALID_ARGUMENT', `oversample must be an integer from 1 to 100, got ${JSON.stringify(o)}`, { field: 'oversample' });
  return o;
}

type Dsl = Record<string, unknown>;

function path(field: string): string {
  return field === 'id' ? 'id' : `${METADATA_FIELD}.${field}`;
}

function condition(field: string, c: FieldValue | FieldCondition): Dsl[] {
  const p = path(field);
  if (!isPlainObject(c)) return [{ term: { [p]: c } }];
  const out: Dsl[] = [];
  const cond = c as FieldCondition;
  if (cond.eq !== undefined) out.push({ term: { [p]: cond.eq } });
  if (cond.in !== undefined) out.push({ terms: { [p]: cond.in } });
  const range: Record<string, number> = {};
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) if (cond[op] !== undefined) range[op] = cond[op] as number;
  if (Object.keys(range).length > 0) out.push({ range: { [p]: range } });
  return out;
}

function translate(f: Filter): Dsl {
  const must: Dsl[] = [];
  for (const [key, value] of Object.entries(f)) {
    if (key === 'and') must.push({ bool: { filter: (value as Filter[]).map(translate) } });
    else if (key === 'or') must.push({ bool: { should: (value as Filter[]).map(translate), minimum_should_match: 1 } });
    else if (key === 'not') must.push({ bool: { must_not: [translate(value as Filter)] } });
    else must.push(...condition(key, value as FieldValue | FieldCondition));
  }
  return must.length === 1 ? (must[0] as Dsl) : { bool: { filter: must } };
}

/**
 * A semsearch filter as OpenSearch query DSL, with the same meaning: it is first checked (and FILTER_INVALID
 * raised) exactly as the local index checks it. A term on a field a document lacks does not match, and `must_not`
 * matches such a document, as `not` does locally.
 */
export function filterQuery(filter: unknown, fields: Readonly<Record<string, FieldType>>): Dsl {
  compileFilter(filter, fields);
  return translate(filter as Filter);
}

/**
 * The model's similarity from an OpenSearch k-NN score of the lucene engine: cosinesimil scores (1 + cos) / 2;
 * innerproduct scores 1 + dot for dot ≥ 0 and 1 / (1 − dot) below. Both maps are monotonic, so ranks are kept.
 */
export function similarityFromScore(score: number, space: SpaceType): number {
  if (space === 'cosinesimil') return 2 * score - 1;
  return score >= 1 ? score - 1 : 1 - 1 / score;
}

/**
 * A float32 value as JSON text that parses back to the same float32 (9 significant digits always suffice), and
 * no longer than needed: vectors travel as JSON, and the cluster stores float32.
 */
export function float32Json(v: number): string {
  for (let p = 6; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

/** A vector as a JSON array whose values round-trip to these float32 values exactly. */
export function vectorJson(v: Float32Array): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i > 0 ? ',' : '') + float32Json(v[i] as number);
  return `${s}]`;
}
