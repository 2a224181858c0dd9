import { existsSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { SemsearchError } from '../errors.js';
import { assertDeviceAvailable, checkDevice, cudaSessionError, executionProvidersFor, isProviderLoadFailure, type Device } from './device.js';
import type { TokenizedBatch } from './tokenizer/tokenizer.js';

export interface SessionOptions {
  /** Threads used inside one operator (ONNX Runtime's intra-op pool). Default: ONNX Runtime's own choice. */
  intraOpThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** ONNX Runtime's CPU memory arena (default on). */
  enableCpuMemArena?: boolean;
  /** ONNX Runtime's memory pattern planning (default on); it pays off only when shapes repeat. */
  enableMemPattern?: boolean;
  /** Whether idle intra-op threads spin before sleeping (ONNX Runtime's default: yes). */
  allowSpinning?: boolean;
  /**
   * What the file computes: 'tokens' (a bi-encoder's transformer: token embeddings, batch × seq × hidden; the
   * default) or 'logits' (a cross-encoder's *ForSequenceClassification: batch × labels, returned as seqLen 1).
   */
  output?: 'tokens' | 'logits';
  /** Where ONNX Runtime runs: 'cpu' (default) or 'cuda' (refused with DEVICE_UNAVAILABLE where its provider is absent). */
  device?: Device;
}

/** Token embeddings of one batch: batch × seqLen × hidden, row-major float32 (logits: seqLen 1, hidden = labels). */
export interface TokenEmbeddings {
  data: Float32Array;
  batchSize: number;
  seqLen: number;
  hidden: number;
}

/**
 * The transformer as an ONNX Runtime session. Which inputs to feed is read from the file itself, since
 * BERT takes token_type_ids and DistilBERT and MPNet do not.
 */
export class TransformerSession {
  readonly file: string;
  readonly inputNames: readonly string[];
  readonly outputName: string;
  private readonly output: 'tokens' | 'logits';
  private session: ort.InferenceSession | null;

  private constructor(file: string, session: ort.InferenceSession, output: 'tokens' | 'logits') {
    this.file = file;
    this.session = session;
    this.output = output;
    this.inputNames = session.inputNames;
    const outs = session.outputNames;
    const names = output === 'logits' ? ['logits'] : ['token_embeddings', 'last_hidden_state'];
    this.outputName = names.find((n) => outs.includes(n)) ?? (outs[0] as string);
    for (const name of this.inputNames) {
      if (!['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'].includes(name)) {
        throw new SemsearchError('ONNX_INVALID', `${file}: unexpected model input "${name}"`, { file, field: name });
      }
    }
    if (!this.inputNames.includes('input_ids')) {
      throw new SemsearchError('ONNX_INVALID', `${file}: the model has no input_ids input`, { file, field: 'input_ids' });
    }
  }

  static async create(file: string, options: SessionOptions = {}): Promise<TransformerSession> {
    if (!existsSync(file)) {
      throw new SemsearchError('ONNX_MISSING', `ONNX file ${file} does not exist; export the model with sentence-transformers (backend="onnx") or pick another variant`, {
        file,
      });
    }
    const device = options.device === undefined ? 'cpu' : checkDevice(options.device);
    assertDeviceAvailable(device);
    const opts: ort.InferenceSession.SessionOptions = {
      executionProviders: executionProvidersFor(device),
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
    };
    if (options.enableCpuMemArena !== undefined) opts.enableCpuMemArena = options.enableCpuMemArena;
    if (options.enableMemPattern !== undefined) opts.enableMemPattern = options.enableMemPattern;
    if (options.allowSpinning !== undefined) opts.extra = { session: { intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' } } };
    if (options.intraOpThreads !== undefined) {
      if (!Number.isInteger(options.intraOpThreads) || options.intraOpThreads < 1) {
        throw new SemsearchError('INVALID_ARGUMENT', `threads must be a positive integer, got ${options.intraOpThreads}`, { field: 'threads' });
      }
      opts.intraOpNumThreads = options.intraOpThreads;
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, opts);
    } catch (cause) {
      const first = String((cause as Error).message ?? cause).split('\n')[0] ?? '';
      if (device === 'cuda' && isProviderLoadFailure(first)) throw cudaSessionError(file, cause);
      throw new SemsearchError('ONNX_INVALID', `ONNX Runtime cannot load ${file}: ${first}`, { file, cause });
    }
    return new TransformerSession(file, session, options.output ?? 'tokens');
  }

  async run(batch: TokenizedBatch): Promise<TokenEmbeddings> {
    const session = this.session;
    if (session === null) throw new SemsearchError('MODEL_DISPOSED', 'the model was disposed; load it again', {});
    const dims = [batch.batchSize, batch.seqLen];
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', batch.inputIds, dims);
      else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', batch.attentionMask, dims);
      else if (name === 'token_type_ids') feeds[name] = new ort.Tensor('int64', batch.tokenTypeIds, dims);
      else {
        const pos = new BigInt64Array(batch.batchSize * batch.seqLen);
        for (let r = 0; r < batch.batchSize; r++) for (let c = 0; c < batch.seqLen; c++) pos[r * batch.seqLen + c] = BigInt(c);
        feeds[name] = new ort.Tensor('int64', pos, dims);
      }
    }
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run(feeds, [this.outputName]);
    } catch (cause) {
      const first = String((cause as Error).message ?? cause).split('\n')[0];
      throw new SemsearchError('ONNX_RUN_FAILED', `ONNX Runtime failed on ${this.file}: ${first}`, { file: this.file, cause });
    }
    const t = out[this.outputName] as ort.Tensor;
    if (this.output === 'logits') {
      if (t.type !== 'float32' || t.dims.length !== 2) {
        throw new SemsearchError('ONNX_INVALID', `${this.file}: output ${this.outputName} is ${t.type} ${JSON.stringify(t.dims)}, expected float32 logits [batch, labels]`, { file: this.file });
      }
      return { data: t.data as Float32Array, batchSize: t.dims[0] as number, seqLen: 1, hidden: t.dims[1] as number };
    }
    if (t.type !== 'float32' || t.dims.length !== 3) {
      throw new SemsearchError('ONNX_INVALID', `${this.file}: output ${this.outputName} is ${t.type} ${JSON.stringify(t.dims)}, expected float32 [batch, seq, hidden]`, {
        file: this.file,
      });
    }
    return { data: t.data as Float32Array, batchSize: t.dims[0] as number, seqLen: t.dims[1] as number, hidden: t.dims[2] as number };
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    if (s !== null) await s.release();
  }
}
