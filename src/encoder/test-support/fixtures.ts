// Test support: the reference models and vectors written by tools/reference/make_fixtures.py.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Matrix } from '../../tensor/matrix.js';

export const FIXTURES = fileURLToPath(new URL('../../model/fixtures/', import.meta.url));
export const ARCHS = ['bert', 'distilbert', 'mpnet'] as const;
export type Arch = (typeof ARCHS)[number];
export const VARIANTS = ['cls-norm', 'cls-nonorm', 'mean-norm', 'mean-nonorm'] as const;

export interface StoredMatrix {
  rows: number;
  dim: number;
  f32: string;
}

export function decodeMatrix(m: StoredMatrix): Matrix {
  const bytes = Buffer.from(m.f32, 'base64');
  const data = new Float32Array(m.rows * m.dim);
  for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(i * 4);
  return new Matrix(m.rows, m.dim, data);
}

export interface ArchVectors {
  max_seq_length: number;
  similarity_fn_name: string;
  prompts: Record<string, string>;
  model_input_names: string[];
  token_ids: number[][];
  embeddings: Record<string, { pooling: string; normalize: boolean; torch: Record<string, StoredMatrix> }>;
  onnx_embeddings: { variant: string; cpu?: { model: string; isa: string }; by_file: Record<string, Record<string, StoredMatrix>> };
  similarity: { variant: string; function: string; scores: StoredMatrix; pairwise_scores?: StoredMatrix };
  prompt_embeddings?: Record<string, unknown>;
  [k: string]: unknown;
}

export function readTexts(): string[] {
  const j = JSON.parse(readFileSync(join(FIXTURES, 'texts.json'), 'utf8')) as unknown;
  if (Array.isArray(j)) return j as string[];
  const o = j as { texts: (string | { text: string })[] };
  return o.texts.map((t) => (typeof t === 'string' ? t : t.text));
}

export function readVectors(arch: Arch): ArchVectors {
  return JSON.parse(readFileSync(join(FIXTURES, 'vectors', `${arch}.json`), 'utf8')) as ArchVectors;
}

/** A variant's folder = the arch's complete base folder + the variant's own files, in a temp dir. */
export function materializeVariant(arch: Arch, variant: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `semsearch-${arch}-${variant}-`));
  cpSync(join(FIXTURES, 'models', arch), dir, { recursive: true });
  cpSync(join(FIXTURES, 'variants', `${arch}-${variant}`), dir, { recursive: true });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function maxAbsDiff(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.dim !== b.dim) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  return m;
}

export function rowCosine(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return d / Math.sqrt(na * nb);
}

/**
 * A copy of a cross-encoder fixture's folder as CrossEncoder saved it (tools/reference/make_cross_fixtures.py),
 * tokenizer files included, in a temporary folder a test may change.
 */
export function materializeCrossEncoder(name: string): { dir: string; cleanup: () => void } {
  const root = join(FIXTURES, 'cross-encoders');
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { models: Record<string, { tokenizerFrom: string }> };
  assert.ok(manifest.models[name] !== undefined, `no cross-encoder fixture ${name}`);
  const dir = mkdtempSync(join(tmpdir(), `semsearch-ce-${name}-`));
  cpSync(join(root, name), dir, { recursive: true });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The prompt fixtures of tools/reference/make_prompt_fixtures.py: models/bert with a variant's prompt files. */
export const PROMPT_VARIANTS = ['e5', 'bge', 'instructor'] as const;
export type PromptVariant = (typeof PROMPT_VARIANTS)[number];

export interface PromptVectors {
  prompts: Record<string, string>;
  default_prompt_name: string | null;
  include_prompt: boolean;
  encode_query: StoredMatrix;
  encode_document: StoredMatrix;
  encode: StoredMatrix;
  by_prompt_name: Record<string, StoredMatrix>;
  prompt_empty: StoredMatrix;
}

export function readPromptVectors(): Record<PromptVariant, PromptVectors> {
  return (JSON.parse(readFileSync(join(FIXTURES, 'prompts', 'vectors.json'), 'utf8')) as { variants: Record<PromptVariant, PromptVectors> }).variants;
}

export function materializePromptVariant(name: PromptVariant): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `semsearch-prompts-${name}-`));
  cpSync(join(FIXTURES, 'models', 'bert'), dir, { recursive: true });
  cpSync(join(FIXTURES, 'prompts', name), dir, { recursive: true });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
