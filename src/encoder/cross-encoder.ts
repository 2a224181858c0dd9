import { existsSync } from 'node:fs';
import { SemsearchError, throwIfCancelled, type CancelSignal } from '../errors.js';
import { resolveModel } from '../hub/resolve.js';
import { readCrossEncoderConfig, CROSS_ACTIVATIONS, type CrossActivation, type CrossEncoderConfig } from '../model/cross-config.js';
import type { EncodedPair, Tokenizer } from '../model/tokenizer/tokenizer.js';
import { loadTokenizer } from '../model/tokenizer/load-tokenizer.js';
import { Matrix } from '../tensor/matrix.js';
import { runBatches, type EncodeTimings, type TransformerRunner } from './encode.js';
import { deviceOf, onnxFileOf, openRunner, splitByName, type LoadModelByNameOptions, type LoadModelOptions } from './load-model.js';
import type { OnnxChoice } from './sentence-transformer.js';
import { planBatches } from './batch-plan.js';

/** One (query, passage) pair, as CrossEncoder.predict takes it. */
export type TextPair = readonly [string, string];

export interface PredictOptions {
  /** Pairs per ONNX run (default 32, as CrossEncoder.predict). */
  batchSize?: number;
  /** Applied to the logits (default: the model's own, CrossEncoder's `activation_fn`); 'identity' gives raw logits. */
  activation?: CrossActivation;
  /** With more than one label: softmax over each pair's outputs after the activation (default false). */
  applySoftmax?: boolean;
  /** Called after each batch with the pairs done so far. */
  onProgress?: (p: { done: number; total: number }) => void;
  /** Accumulates tokenizing and inference time, in ms. */
  timings?: EncodeTimings;
  /**
   * Stop early: an aborted signal rejects the call with CANCELLED (before any work when it is aborted already;
   * else before the next batch), like fetch's `signal`.
   */
  signal?: CancelSignal;
}

export interface RankOptions extends PredictOptions {
  /** Hits returned (default: every document). */
  topK?: number;
  /** Put each document's text in its hit (default false), as `return_documents`. */
  returnDocuments?: boolean;
}

/** One document of rank(): its position in the list given, its score and (returnDocuments) its text. */
export interface RankHit {
  corpusId: number;
  score: number;
  text?: string;
}

export interface LoadCrossEncoderOptions extends LoadModelOptions {
  /** Truncate pairs to this many tokens (default: the model's, see CrossEncoderConfig.maxLength), as `max_length`. */
  maxLength?: number;
  /** The activation predict() applies by default (default: the one the model saved), as `activation_fn`. */
  activation?: CrossActivation;
}

function checkActivation(a: unknown, field: string): CrossActivation {
  if (typeof a !== 'string' || !CROSS_ACTIVATIONS.includes(a as CrossActivation)) {
    throw new SemsearchError('INVALID_ARGUMENT', `${field} must be one of ${CROSS_ACTIVATIONS.join(', ')}; got ${JSON.stringify(a)}`, { field });
  }
  return a as CrossActivation;
}

function positiveInteger(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new SemsearchError('INVALID_ARGUMENT', `${field} must be a positive integer, got ${JSON.stringify(v)}`, { field });
  return v;
}

/** Each row's outputs through the activation, then (applySoftmax, more than one label) a softmax across the row. */
function activate(m: Matrix, activation: CrossActivation, applySoftmax: boolean): void {
  const { rows, dim, data } = m;
  for (let r = 0; r < rows; r++) {
    const row = data.subarray(r * dim, (r + 1) * dim);
    if (activation === 'sigmoid') for (let i = 0; i < dim; i++) row[i] = 1 / (1 + Math.exp(-(row[i] as number)));
    else if (activation === 'tanh') for (let i = 0; i < dim; i++) row[i] = Math.tanh(row[i] as number);
    else if (activation === 'relu') for (let i = 0; i < dim; i++) row[i] = Math.max(0, row[i] as number);
    else if (activation === 'softmax') softmax(row);
    if (applySoftmax && dim > 1) softmax(row);
  }
}

function softmax(row: Float32Array): void {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += row[i] = Math.exp((row[i] as number) - max);
  for (let i = 0; i < row.length; i++) row[i] = (row[i] as number) / sum;
}

/** Pairs as given: one pair, or a list of them; anything else is refused naming the bad entry. */
function pairsOf(input: TextPair | readonly TextPair[]): { pairs: readonly TextPair[]; single: boolean } {
  if (!Array.isArray(input)) throw new SemsearchError('INVALID_ARGUMENT', `predict() takes a [query, passage] pair or a list of them, got ${input === null ? 'null' : typeof input}`, { field: 'pairs' });
  const single = input.length === 2 && typeof input[0] === 'string' && typeof input[1] === 'string';
  const pairs = (single ? [input] : input) as readonly TextPair[];
  pairs.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string') {
      throw new SemsearchError('INVALID_ARGUMENT', `pair ${i} must be two strings [query, passage], got ${JSON.stringify(p)?.slice(0, 80)}`, { field: `pairs[${i}]` });
    }
  });
  return { pairs, single };
}

/**
 * A loaded cross-encoder, the counterpart of sentence-transformers' CrossEncoder: it reads a query and a passage
 * together and scores the pair (`predict`), or orders passages for one query (`rank`). Slower than a bi-encoder, as
 * every pair is a transformer run, and so used to re-rank a bi-encoder's top hits.
 */
export class CrossEncoder {
  readonly config: CrossEncoderConfig;
  readonly tokenizer: Tokenizer;
  readonly onnxFile: string;
  readonly onnxChoice: OnnxChoice;
  /** Tokens a pair is cut to, special tokens included (`max_length`). */
  readonly maxLength: number;
  /** The activation predict() applies unless told otherwise (`activation_fn`). */
  readonly activation: CrossActivation;
  private readonly session: TransformerRunner;
  private disposed = false;

  constructor(config: CrossEncoderConfig, tokenizer: Tokenizer, session: TransformerRunner, o: { maxLength?: number; activation?: CrossActivation; onnxChoice?: OnnxChoice } = {}) {
    this.config = config;
    this.tokenizer = tokenizer;
    this.session = session;
    this.onnxFile = session.file;
    this.onnxChoice = o.onnxChoice ?? { requested: 'default' };
    this.maxLength = o.maxLength ?? config.maxLength;
    this.activation = o.activation ?? config.activation;
  }

  /** Outputs per pair: 1 for a relevance score, more for a classifier (e.g. NLI's 3). */
  get numLabels(): number {
    return this.config.numLabels;
  }

  /** Token ids and token types of each pair, as the model reads it (longest_first truncation to maxLength). */
  tokenize(pairs: readonly TextPair[]): EncodedPair[] {
    return pairsOf(pairs).pairs.map(([a, b]) => this.tokenizer.encodePair(a, b, this.maxLength));
  }

  /**
   * Score pairs: a Matrix of pairs × numLabels (its `data` is the scores themselves when there is one label), as
   * CrossEncoder.predict's array. Pairs are run longest first in batches of similar length, and come back in order.
   */
  async predict(input: TextPair | readonly TextPair[], options: PredictOptions = {}): Promise<Matrix> {
    if (this.disposed) throw new SemsearchError('MODEL_DISPOSED', 'the model was disposed; load it again', {});
    const { signal } = options;
    throwIfCancelled(signal, 'predict');
    const { pairs } = pairsOf(input);
    const batchSize = positiveInteger(options.batchSize ?? 32, 'batchSize');
    const activation = options.activation === undefined ? this.activation : checkActivation(options.activation, 'activation');
    const out = new Matrix(pairs.length, this.numLabels);
    if (pairs.length === 0) return out;
    const t0 = performance.now();
    const encoded = pairs.map(([a, b], i) => {
      if ((i & 1023) === 1023) throwIfCancelled(signal, 'predict');
      return this.tokenizer.encodePair(a, b, this.maxLength);
    });
    if (options.timings !== undefined) options.timings.tokenizeMs += performance.now() - t0;
    // Longest first, as CrossEncoder.predict orders them, and cut where padding would cost more than another run.
    const order = encoded.map((_, i) => i).sort((x, y) => (encoded[y] as EncodedPair).ids.length - (encoded[x] as EncodedPair).ids.length);
    const ends = planBatches(Int32Array.from(order, (i) => (encoded[i] as EncodedPair).ids.length), batchSize);
    let done = 0;
    await runBatches(ends.length, this.session.concurrency ?? 1, async (b) => {
      throwIfCancelled(signal, 'predict');
      const idx = order.slice(b === 0 ? 0 : (ends[b - 1] as number), ends[b]);
      const batch = this.tokenizer.pad(
        idx.map((i) => (encoded[i] as EncodedPair).ids),
        idx.map((i) => (encoded[i] as EncodedPair).typeIds),
      );
      const t1 = performance.now();
      const logits = await this.session.run(batch);
      if (options.timings !== undefined) options.timings.inferenceMs += performance.now() - t1;
      if (logits.hidden !== this.numLabels) {
        throw new SemsearchError('ONNX_INVALID', `${this.onnxFile} gives ${logits.hidden} outputs per pair; ${this.config.dir}/config.json says ${this.numLabels} labels`, { file: this.onnxFile });
      }
      idx.forEach((orig, r) => out.data.set(logits.data.subarray(r * this.numLabels, (r + 1) * this.numLabels), orig * this.numLabels));
      done += idx.length;
      options.onProgress?.({ done, total: pairs.length });
    });
    throwIfCancelled(signal, 'predict');
    activate(out, activation, options.applySoftmax === true);
    return out;
  }

  /**
   * The documents ordered by their score with the query, best first (ties keep the given order), as
   * CrossEncoder.rank. Only for one-label models, as there.
   */
  async rank(query: string, documents: readonly string[], options: RankOptions = {}): Promise<RankHit[]> {
    if (this.numLabels !== 1) {
      throw new SemsearchError('UNSUPPORTED_MODEL', `rank() needs a model with one label; this one has ${this.numLabels}: use predict() with the pairs instead`, { field: 'model' });
    }
    throwIfCancelled(options.signal, 'rank');
    if (typeof query !== 'string') throw new SemsearchError('INVALID_ARGUMENT', `rank() needs the query as a string, got ${typeof query}`, { field: 'query' });
    if (!Array.isArray(documents)) throw new SemsearchError('INVALID_ARGUMENT', 'rank() needs the documents as an array of strings', { field: 'documents' });
    const topK = options.topK === undefined ? documents.length : positiveInteger(options.topK, 'topK');
    const scores = (await this.predict(documents.map((d): TextPair => [query, d]), options)).data;
    const hits: RankHit[] = documents.map((d, i) => ({ corpusId: i, score: scores[i] as number, ...(options.returnDocuments === true ? { text: d } : {}) }));
    // Array.prototype.sort is stable: equal scores keep the documents' order, as Python's sorted().
    hits.sort((x, y) => y.score - x.score);
    return hits.slice(0, topK);
  }

  /** Release the ONNX Runtime session(s). */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.session.dispose();
  }
}

/** Load a cross-encoder folder (the hub's CrossEncoder layout with an ONNX export). */
export async function loadCrossEncoderFromDir(dir: string, options: LoadCrossEncoderOptions = {}): Promise<CrossEncoder> {
  const warn = options.onWarning ?? ((m: string) => process.emitWarning(m, { code: 'SEMSEARCH_CROSS_ENCODER' }));
  deviceOf(options);
  const config = readCrossEncoderConfig(dir, warn);
  if (options.maxLength !== undefined) positiveInteger(options.maxLength, 'maxLength');
  if (options.activation !== undefined) checkActivation(options.activation, 'activation');
  const tokenizer = loadTokenizer(dir, config.modelType, { doLowerCase: config.doLowerCase });
  const { file, choice } = onnxFileOf(dir, options, { head: 'classification' });
  const session = await openRunner(file, options, 'logits');
  const warning = choice.warning ?? choice.int8?.fallback;
  if (warning !== undefined) warn(warning);
  return new CrossEncoder(config, tokenizer, session, {
    onnxChoice: choice,
    ...(options.maxLength !== undefined ? { maxLength: options.maxLength } : {}),
    ...(options.activation !== undefined ? { activation: options.activation } : {}),
  });
}

/**
 * Load a cross-encoder as `CrossEncoder(name)` does: a folder as is, a hub name ('cross-encoder/ms-marco-MiniLM-L6-v2';
 * a bare name gets the 'cross-encoder/' owner, where the MS MARCO cross-encoders live) fetched once into the shared
 * huggingface_hub cache, only the files needed.
 */
export async function loadCrossEncoder(nameOrPath: string, options: LoadCrossEncoderOptions & Omit<LoadModelByNameOptions, keyof LoadModelOptions> = {}): Promise<CrossEncoder> {
  const { maxLength, activation, ...rest } = options;
  deviceOf(rest);
  const { folder, hub } = splitByName(rest);
  const name = typeof nameOrPath === 'string' && !nameOrPath.includes('/') && !nameOrPath.includes('\\') && !existsSync(nameOrPath) ? `cross-encoder/${nameOrPath}` : nameOrPath;
  return loadCrossEncoderFromDir(await resolveModel(name, hub), {
    ...folder,
    ...(maxLength !== undefined ? { maxLength } : {}),
    ...(activation !== undefined ? { activation } : {}),
  });
}
