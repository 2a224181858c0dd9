import { SemsearchError, throwIfCancelled, type CancelSignal } from '../errors.js';
import type { ModelConfig, PoolingConfig } from '../model/config.js';
import type { TokenEmbeddings } from '../model/onnx-session.js';
import type { TokenizedBatch, Tokenizer } from '../model/tokenizer/tokenizer.js';
import { Matrix } from '../tensor/matrix.js';
import { isPrecision, quantizeEmbeddings, type Precision, type QuantizationRanges, type QuantizedMatrix } from '../tensor/quantize.js';
import type { DenseLayer } from './dense.js';
import { normalizeRows } from './normalize.js';
import { planBatches } from './batch-plan.js';
import { pool, type PoolingSpans } from './pooling.js';

export interface EncodeProgress {
  /** Texts encoded so far. */
  done: number;
  total: number;
}

/**
 * How texts are grouped into forward passes. "padding-aware" (the default): sorted by token count, cut where
 * the padding saved is worth more than one more pass (at most batchSize texts each; see batch-plan.ts).
 * "fixed": sentence-transformers' own batches, sorted by character count, every batchSize texts. The
 * embeddings are the same either way up to float rounding (about 1e-7).
 */
export type Batching = 'padding-aware' | 'fixed';
export const BATCHINGS: readonly Batching[] = ['padding-aware', 'fixed'];

export interface EncodeOptions {
  /** Most texts per forward pass (default 32). */
  batchSize?: number;
  /** How texts are grouped into passes (default "padding-aware"). */
  batching?: Batching;
  /** L2-normalise the output (default false; models with a Normalize module already do). */
  normalize?: boolean;
  /** Output precision (default float32), with sentence-transformers' quantize_embeddings semantics. */
  precision?: Precision;
  /** int8/uint8 only: per-dimension [min, max] instead of ranges computed from the output itself. */
  ranges?: QuantizationRanges;
  /** int8/uint8 only: embeddings to compute the ranges from. */
  calibrationEmbeddings?: Matrix;
  /** Prompt text put before every input. Wins over promptName. */
  prompt?: string;
  /** Name of a prompt in config_sentence_transformers.json, e.g. "query". */
  promptName?: string;
  onProgress?: (p: EncodeProgress) => void;
  /** Accumulates where the time went, in ms (a server's per-stage metrics): tokenizing, and the transformer runs. */
  timings?: EncodeTimings;
  /**
   * Stop early: an aborted signal rejects the call with CANCELLED (before any work when it is aborted already;
   * else before the next batch, as a batch in ONNX Runtime is not interrupted), like fetch's `signal`.
   */
  signal?: CancelSignal;
}

/** Milliseconds spent per encode stage, added to by each call given the object. */
export interface EncodeTimings {
  tokenizeMs: number;
  inferenceMs: number;
}

/** The modules after the transformer, built from the model's own files. */
export type PostModule = { kind: 'pooling'; config: PoolingConfig } | { kind: 'dense'; layer: DenseLayer } | { kind: 'normalize' };

/** What runs the transformer: one ONNX Runtime session, or a pool of them on worker threads. */
export interface TransformerRunner {
  readonly file: string;
  run(batch: TokenizedBatch): Promise<TokenEmbeddings>;
  dispose(): Promise<void>;
  /** Batches that can run at once (a pool's worker count); 1 when absent. */
  readonly concurrency?: number;
}

export interface EncoderParts {
  config: ModelConfig;
  tokenizer: Tokenizer;
  session: TransformerRunner;
  modules: PostModule[];
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

/**
 * The prompt text an encode call applies, as sentence-transformers' _resolve_prompt: an explicit prompt wins, else
 * the named one, else the model's default_prompt_name. An empty prompt is no prompt (ST tests `if prompt`), so it
 * neither changes the text nor excludes anything from pooling.
 */
export function resolvePrompt(config: ModelConfig, options: EncodeOptions): string | undefined {
  const p = resolvePromptText(config, options);
  return p === '' ? undefined : p;
}

function resolvePromptText(config: ModelConfig, options: EncodeOptions): string | undefined {
  if (options.prompt !== undefined) {
    if (typeof options.prompt !== 'string') throw new SemsearchError('INVALID_ARGUMENT', 'prompt must be a string', { field: 'prompt' });
    return options.prompt;
  }
  const name = options.promptName ?? config.defaultPromptName ?? undefined;
  if (name === undefined) return undefined;
  const p = config.prompts[name];
  if (p === undefined) {
    const known = Object.keys(config.prompts);
    throw new SemsearchError('INVALID_ARGUMENT', `prompt name ${JSON.stringify(name)} is not defined by the model (${known.length ? known.join(', ') : 'it has no prompts'})`, {
      field: 'promptName',
    });
  }
  return p;
}

function validateTexts(texts: readonly unknown[]): void {
  if (texts.length === 0) throw new SemsearchError('EMPTY_INPUT', 'encode() needs at least one text; got an empty list', { field: 'texts' });
  texts.forEach((t, i) => {
    if (typeof t !== 'string') {
      throw new SemsearchError('INVALID_ARGUMENT', `texts[${i}] must be a string, got ${t === null ? 'null' : typeof t}`, { field: `texts[${i}]` });
    }
  });
}

/**
 * Encode texts as sentence-transformers' encode does: sort by length (longest first) so batches pad little,
 * run the transformer per batch, apply the model's modules in order, restore the caller's order. Batches are
 * planned by token count unless `batching: "fixed"` asks for sentence-transformers' own (see Batching).
 */
export async function encodeTexts(parts: EncoderParts, texts: readonly string[], options: EncodeOptions = {}): Promise<Matrix | QuantizedMatrix> {
  const { signal } = options;
  throwIfCancelled(signal, 'encode');
  validateTexts(texts);
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new SemsearchError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`, { field: 'batchSize' });
  }
  const batching = options.batching ?? 'padding-aware';
  if (!BATCHINGS.includes(batching)) {
    throw new SemsearchError('INVALID_ARGUMENT', `batching must be "padding-aware" or "fixed"; got ${JSON.stringify(batching)}`, { field: 'batching' });
  }
  const precision = options.precision ?? 'float32';
  if (!isPrecision(precision)) {
    throw new SemsearchError('INVALID_ARGUMENT', `precision must be one of float32, int8, uint8, binary, ubinary; got ${JSON.stringify(precision)}`, {
      field: 'precision',
    });
  }
  const { config, tokenizer, session } = parts;
  const prompt = resolvePrompt(config, options);
  const pooling = parts.modules.find((m) => m.kind === 'pooling');
  const excludePrompt = prompt !== undefined && pooling !== undefined && !pooling.config.includePrompt;
  let promptLength = 0;
  if (excludePrompt) {
    // sentence-transformers counts the prompt's tokens with special tokens, less a trailing one.
    promptLength = tokenizer.encode(prompt, config.maxSeqLength).length - tokenizer.template.suffix.length;
  }

  // Texts go to the tokenizer as given: sentence-transformers 5 no longer strips them (its 2.x-4.x Transformer did).
  // For WordPiece models the difference is invisible (the pre-tokenizer drops that whitespace); byte-level BPE and
  // Metaspace tokenizers make tokens of it.
  const inputOf = (i: number): string => (prompt === undefined ? (texts[i] as string) : prompt + (texts[i] as string));
  const order = texts.map((_, i) => i);
  // sentence-transformers sorts by the length of the text as given.
  const lengths = texts.map(codePointLength);
  order.sort((a, b) => (lengths[b] as number) - (lengths[a] as number));

  // Batches as [start, end) spans of `order`, and each text's token ids where already computed.
  let ends: number[];
  const cached: (Int32Array | undefined)[] = [];
  if (batching === 'fixed') {
    ends = [];
    for (let e = batchSize; e < order.length + batchSize; e += batchSize) ends.push(Math.min(e, order.length));
  } else {
    // Token counts decide the padding, so tokenize first. Ids are kept up to a budget (64 MB) so a huge call
    // does not hold every text's ids at once; past it they are recomputed per batch (tokenizing is ~1% of encode).
    const tokenCount = new Int32Array(texts.length);
    let kept = 0;
    const t0 = performance.now();
    for (let i = 0; i < texts.length; i++) {
      if ((i & 1023) === 1023) throwIfCancelled(signal, 'encode');
      const ids = tokenizer.encode(inputOf(i), config.maxSeqLength);
      tokenCount[i] = ids.length;
      if (kept + ids.length <= 1 << 24) {
        cached[i] = Int32Array.from(ids);
        kept += ids.length;
      }
    }
    if (options.timings !== undefined) options.timings.tokenizeMs += performance.now() - t0;
    // Stable: equal token counts keep sentence-transformers' order among themselves.
    order.sort((a, b) => (tokenCount[b] as number) - (tokenCount[a] as number));
    ends = planBatches(Int32Array.from(order, (i) => tokenCount[i] as number), batchSize);
  }
  const tokenizeBatch = (idx: number[]): TokenizedBatch =>
    batching === 'fixed'
      ? tokenizer.encodeBatch(idx.map(inputOf), config.maxSeqLength)
      : tokenizer.pad(idx.map((i) => cached[i] ?? tokenizer.encode(inputOf(i), config.maxSeqLength)));

  let out: Matrix | undefined;
  let done = 0;
  const finish = (idx: number[], batch: TokenizedBatch, tokens: TokenEmbeddings): void => {
    const spans: PoolingSpans = { start: new Int32Array(batch.batchSize).fill(excludePrompt ? promptLength : 0), end: batch.lengths };
    let emb: Matrix | undefined;
    for (const m of parts.modules) {
      if (m.kind === 'pooling') emb = pool(tokens, spans, m.config);
      else if (m.kind === 'dense') emb = m.layer.forward(emb as Matrix);
      else normalizeRows(emb as Matrix);
    }
    const result = emb as Matrix;
    if (options.normalize === true) normalizeRows(result);
    out ??= new Matrix(texts.length, result.dim);
    idx.forEach((orig, r) => (out as Matrix).data.set(result.row(r), orig * result.dim));
    done += idx.length;
    options.onProgress?.({ done, total: texts.length });
  };
  // A pool runs several batches at once; the next batch is tokenized while the workers run, and each result
  // is pooled as it comes back. Rows land at their input positions, so the order of completion does not matter.
  const concurrency = session.concurrency ?? 1;
  await runBatches(ends.length, concurrency, async (b) => {
    throwIfCancelled(signal, 'encode');
    const idx = order.slice(b === 0 ? 0 : (ends[b - 1] as number), ends[b]);
    const t0 = performance.now();
    const batch = tokenizeBatch(idx);
    idx.forEach((i) => (cached[i] = undefined));
    const t1 = performance.now();
    const tokens = await session.run(batch);
    // Stage times add up only when batches run one at a time.
    if (options.timings !== undefined && concurrency <= 1) {
      options.timings.tokenizeMs += t1 - t0;
      options.timings.inferenceMs += performance.now() - t1;
    }
    finish(idx, batch, tokens);
  });
  // The last batch may have run while the signal was aborted: an aborted call never resolves.
  throwIfCancelled(signal, 'encode');
  const all = out as Matrix;
  if (precision === 'float32') return all;
  return quantizeEmbeddings(all, precision, {
    ...(options.ranges !== undefined ? { ranges: options.ranges } : {}),
    ...(options.calibrationEmbeddings !== undefined ? { calibrationEmbeddings: options.calibrationEmbeddings } : {}),
  });
}

/**
 * Run batches 0 … n−1 through `step`, started in order: one at a time, or with a pool (concurrency > 1) up to that
 * many at once, so the next batch is prepared while the workers run. The first failure stops new batches and is
 * thrown once those in flight have settled.
 */
export async function runBatches(n: number, concurrency: number, step: (b: number) => Promise<void>): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for (let b = 0; b < n && failure === undefined; b++) {
    if (concurrency <= 1) {
      await step(b);
      continue;
    }
    const p: Promise<void> = step(b)
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure.error;
}

export interface EncodeTokenIdsOptions {
  batchSize?: number;
  normalize?: boolean;
  timings?: EncodeTimings;
  /** As EncodeOptions.signal: checked before each batch. */
  signal?: CancelSignal;
}

/**
 * Embed inputs given as token ids (an OpenAI-style `input` of token arrays): the ids are the model's own
 * vocabulary's, without special tokens; the tokenizer's template adds them, and an input longer than the model reads
 * is cut as text would be. Pooling, Dense and Normalize run as for text. Returns the embeddings and each input's
 * token count (special tokens included).
 */
export async function encodeTokenIds(parts: EncoderParts, lists: readonly (readonly number[])[], options: EncodeTokenIdsOptions = {}): Promise<{ embeddings: Matrix; tokens: number[] }> {
  throwIfCancelled(options.signal, 'encode');
  const { config, tokenizer, session } = parts;
  if (lists.length === 0) throw new SemsearchError('EMPTY_INPUT', 'no token lists to embed', { field: 'input' });
  const vocabSize = tokenizer.vocab.size;
  const room = config.maxSeqLength - tokenizer.template.prefix.length - tokenizer.template.suffix.length;
  const full = lists.map((ids, i) => {
    if (!Array.isArray(ids) || ids.length === 0) throw new SemsearchError('INVALID_ARGUMENT', `input[${i}] must be a non-empty array of token ids`, { field: `input[${i}]` });
    ids.forEach((id, j) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new SemsearchError('INVALID_ARGUMENT', `input[${i}][${j}] is ${JSON.stringify(id)}, not a token id of this model (0 to ${vocabSize - 1})`, { field: `input[${i}][${j}]` });
      }
    });
    return [...tokenizer.template.prefix, ...ids.slice(0, room), ...tokenizer.template.suffix];
  });
  const batchSize = options.batchSize ?? 32;
  const pooling = parts.modules.find((m) => m.kind === 'pooling');
  if (pooling === undefined) throw new SemsearchError('UNSUPPORTED_MODEL', 'the model has no pooling module', {});
  let out: Matrix | undefined;
  for (let start = 0; start < full.length; start += batchSize) {
    throwIfCancelled(options.signal, 'encode');
    const chunk = full.slice(start, start + batchSize);
    const batch = tokenizer.pad(chunk);
    const t0 = performance.now();
    const tokens = await session.run(batch);
    if (options.timings !== undefined) options.timings.inferenceMs += performance.now() - t0;
    let emb: Matrix | undefined;
    for (const m of parts.modules) {
      if (m.kind === 'pooling') emb = pool(tokens, { start: new Int32Array(batch.batchSize), end: batch.lengths }, m.config);
      else if (m.kind === 'dense') emb = m.layer.forward(emb as Matrix);
      else normalizeRows(emb as Matrix);
    }
    const result = emb as Matrix;
    if (options.normalize === true) normalizeRows(result);
    out ??= new Matrix(full.length, result.dim);
    out.data.set(result.data, start * result.dim);
  }
  throwIfCancelled(options.signal, 'encode');
  return { embeddings: out as Matrix, tokens: full.map((f) => f.length) };
}

