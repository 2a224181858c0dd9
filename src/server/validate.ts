import { SemsearchError, type ErrorCode } from '../errors.js';

/**
 * The subset of JSON Schema (2020-12, what OpenAPI 3.1 embeds) that the request and response bodies use.
 * The same objects are checked by `validate` and printed into /openapi.json, so the document cannot drift
 * from what the server enforces.
 */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, Schema>;
  required?: readonly string[];
  additionalProperties?: false;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: readonly (string | number | boolean)[];
  oneOf?: readonly Schema[];
  default?: unknown;
  examples?: readonly unknown[];
}

export interface ValidationFailure {
  code: ErrorCode;
  field: string;
  message: string;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && Number.isInteger(v)) return 'integer';
  return typeof v;
}

function typeMatches(v: unknown, t: NonNullable<Schema['type']>): boolean {
  switch (t) {
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    default:
      return typeof v === t;
  }
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

// A maximum in these schemas is always a server limit, a minItems always "at least one": the codes say which.
function fail(code: ErrorCode, field: string, message: string): ValidationFailure {
  return { code, field: field === '' ? 'body' : field, message: `${field === '' ? 'body' : field}: ${message}` };
}

/** The first violation of `schema` by `value`, or undefined when it conforms. */
export function validate(value: unknown, schema: Schema, path = ''): ValidationFailure | undefined {
  if (schema.type !== undefined && !typeMatches(value, schema.type)) {
    return fail('INVALID_ARGUMENT', path, `must be ${schema.type === 'integer' ? 'an integer' : schema.type === 'array' || schema.type === 'object' ? `an ${schema.type}` : `a ${schema.type}`}, got ${typeName(value)}`);
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string)) {
    return fail('INVALID_ARGUMENT', path, `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return fail('INVALID_ARGUMENT', path, `must be at least ${schema.minimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum) return fail('LIMIT_EXCEEDED', path, `must be at most ${schema.maximum}, got ${value}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) return fail('INVALID_ARGUMENT', path, `must have at least ${schema.minLength} character(s)`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      return fail('LIMIT_EXCEEDED', path, `has ${value.length} characters; the server accepts at most ${schema.maxLength}`);
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return fail('EMPTY_INPUT', path, `needs at least ${schema.minItems} item(s)`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      return fail('LIMIT_EXCEEDED', path, `has ${value.length} items; the server accepts at most ${schema.maxItems}`);
    }
    if (schema.items !== undefined) {
      for (let i = 0; i < value.length; i++) {
        const f = validate(value[i], schema.items, join(path, i));
        if (f !== undefined) return f;
      }
    }
  }
  if (typeMatches(value, 'object')) {
    const obj = value as Record<string, unknown>;
    const props = schema.properties ?? {};
    for (const r of schema.required ?? []) {
      if (!Object.hasOwn(obj, r)) return fail('INVALID_ARGUMENT', join(path, r), 'is required');
    }
    for (const [key, v] of Object.entries(obj)) {
      // hasOwn: a body key such as "__proto__" or "constructor" must not find Object.prototype's members.
      const p = Object.hasOwn(props, key) ? props[key] : undefined;
      if (p === undefined) {
        if (schema.additionalProperties === false) {
          return fail('INVALID_ARGUMENT', join(path, key), `is not a known field; known: ${Object.keys(props).join(', ')}`);
        }
        continue;
      }
      const f = validate(v, p, join(path, key));
      if (f !== undefined) return f;
    }
  }
  if (schema.oneOf !== undefined) {
    const passing = schema.oneOf.filter((s) => validate(value, s, path) === undefined);
    if (passing.length !== 1) {
      const requiredOnly = schema.oneOf.every((s) => s.required !== undefined && Object.keys(s).length === 1);
      if (requiredOnly) {
        const names = schema.oneOf.map((s) => (s.required as readonly string[]).join('+'));
        return fail('INVALID_ARGUMENT', path, `give exactly one of ${names.join(', ')}`);
      }
      return passing.length === 0 ? validate(value, schema.oneOf[0] as Schema, path) : fail('INVALID_ARGUMENT', path, 'matches more than one form');
    }
  }
  return undefined;
}

// The typed builders below return plain Schema objects (what validate checks and /openapi.json prints); the
// symbol-keyed property exists only for the compiler, so each schema also states the type of what it accepts
// and a handler reads a validated body without casting its fields.
declare const ACCEPTS: unique symbol;

/** A schema that also tells the compiler the type of the values it accepts. */
export type TypedSchema<T> = Schema & { readonly [ACCEPTS]?: T };

/** The type of the values `schema` accepts: `Infer<typeof schema>`. A plain Schema accepts unknown. */
export type Infer<S> = S extends { readonly [ACCEPTS]?: infer T } ? T : unknown;

/** Check `value` against `schema` and return it typed, or throw the first violation as a SemsearchError. */
export function parse<S extends Schema>(schema: S, value: unknown): Infer<S> {
  const f = validate(value, schema);
  if (f !== undefined) throw new SemsearchError(f.code, f.message, { field: f.field });
  return value as Infer<S>;
}

type Annotations = Pick<Schema, 'description' | 'default' | 'examples'>;

export function string(options: Annotations & Pick<Schema, 'minLength' | 'maxLength'> = {}): TypedSchema<string> {
  return { type: 'string', ...options };
}

/** A string from a fixed list: `values` typed as a union stays that union. */
export function stringEnum<const E extends string>(values: readonly E[], options: Annotations = {}): TypedSchema<E> {
  return { type: 'string', enum: values, ...options };
}

export function integer(options: Annotations & Pick<Schema, 'minimum' | 'maximum'> = {}): TypedSchema<number> {
  return { type: 'integer', ...options };
}

export function number(options: Annotations & Pick<Schema, 'minimum' | 'maximum'> = {}): TypedSchema<number> {
  return { type: 'number', ...options };
}

export function boolean(options: Annotations & { enum?: readonly boolean[] } = {}): TypedSchema<boolean> {
  return { type: 'boolean', ...options };
}

export function array<I extends Schema>(items: I, options: Annotations & Pick<Schema, 'minItems' | 'maxItems'> = {}): TypedSchema<Infer<I>[]> {
  return { type: 'array', ...options, items };
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Properties in R are present, the others may be missing. */
type Fields<P, R extends PropertyKey> = { [K in keyof P & R]: Infer<P[K]> } & { [K in Exclude<keyof P, R>]?: Infer<P[K]> };

/** With exactlyOne (X): one member per property of X, that one present and the rest of X absent. */
type ObjectOf<P, R extends PropertyKey, X extends PropertyKey> = [X] extends [never]
  ? Simplify<Fields<P, R>>
  : { [K in X]: Simplify<Fields<Omit<P, Exclude<X, K>>, R | K> & { [J in Exclude<X, K>]?: never }> }[X];

interface ObjectOptions<R extends string, X extends string> extends Annotations {
  required?: readonly R[];
  /** Exactly one of these properties must be given; written as a oneOf of `required`s, which validate names in its message. */
  exactlyOne?: readonly X[];
  additionalProperties?: false;
}

export function object<P extends Record<string, Schema>, const R extends keyof P & string = never, const X extends keyof P & string = never>(
  properties: P,
  options: ObjectOptions<R, X> = {},
): TypedSchema<ObjectOf<P, R, X>> {
  const { description, additionalProperties, required, exactlyOne, ...rest } = options;
  // The keys in the order a reader of /openapi.json expects: what the object is, then its fields, then samples.
  return {
    type: 'object',
    ...(description !== undefined ? { description } : {}),
    ...(additionalProperties !== undefined ? { additionalProperties } : {}),
    ...(required !== undefined ? { required } : {}),
    properties,
    ...(exactlyOne !== undefined ? { oneOf: exactlyOne.map((k) => ({ required: [k] })) } : {}),
    ...rest,
  };
}
