import type { CpuFacts } from '../cpu/features.js';
import type { Int8Choice } from '../cpu/int8.js';
import { SemsearchError } from '../errors.js';
import type { ModelConfig, SimilarityFnName } from '../model/config.js';
import type { Tokenizer } from '../model/tokenizer/tokenizer.js';
import { SIMILARITY_FUNCTIONS } from '../score/similarity.js';
import type { Matrix, MatrixLike } from '../tensor/matrix.js';
import type { Precision, QuantizedMatrix } from '../tensor/quantize.js';
import { encodeTexts, encodeTokenIds, type EncodeOptions, type EncodeTokenIdsOptions, type PostModule, type TransformerRunner } from './encode.js';

type FloatOptions = EncodeOptions & { precision?: 'float32' };
type QuantOptions = EncodeOptions & { precision: Exclude<Precision, 'float32'> };

export interface OnnxChoice {
  /** What the caller asked for: 'default' (onnx/model.onnx), a variant name, 'int8', or 'file' for an explicit path. */
  requested: string;
  /** The CPU the file was checked against (absent when nothing depended on it). */
  cpu?: CpuFacts;
  /** For 'int8': the file picked for this CPU and, when it is not the one built for it, why. */
  int8?: Int8Choice;
  /** Set when the file in use is known to drift on this CPU (a quantized file asked for by name). */
  warning?: string;
}

/**
 * The prompt name encode_query / encode_document pick when the call names neither a prompt nor a prompt name:
 * "query"; the first of "document", "passage", "corpus" the model has (config.ts always gives it "query" and
 * "document", as sentence-transformers 5 does). Exported for the callers that must name the prompt they used.
 */
export function rolePromptName(config: ModelConfig, role: 'query' | 'document'): string | undefined {
  if (role === 'query') return config.prompts['query'] !== undefined ? 'query' : undefined;
  return ['document', 'passage', 'corpus'].find((n) => config.prompts[n] !== undefined);
}

function roleOptions(config: ModelConfig, role: 'query' | 'document', options: EncodeOptions): { promptName?: string } {
  if (options.prompt !== undefined || options.promptName !== undefined) return {};
  const promptName = rolePromptName(config, role);
  return promptName !== undefined ? { promptName } : {};
}

/**
 * A loaded bi-encoder, the counterpart of Python's SentenceTransformer: `encode`, `similarity`, and the
 * model's own settings read from its folder.
 */
export class SentenceTransformer {
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  /** The ONNX file in use. */
  readonly onnxFile: string;
  /** Which file was asked for and why this one: the CPU it was chosen for, and the int8 choice when variant was 'int8'. */
  readonly onnxChoice: OnnxChoice;
  private readonly session: TransformerRunner;
  private readonly modules: PostModule[];
  private disposed = false;

  constructor(config: ModelConfig, tokenizer: Tokenizer, session: TransformerRunner, modules: PostModule[], onnxChoice?: OnnxChoice) {
    this.config = config;
    this.onnxChoice = onnxChoice ?? { requested: 'default' };
    this.tokenizer = tokenizer;
    this.session = session;
    this.modules = modules;
    this.onnxFile = session.file;
  }

  get maxSeqLength(): number {
    return this.config.maxSeqLength;
  }

  get similarityFnName(): SimilarityFnName {
    return this.config.similarityFnName;
  }

  /** Output dimension: the last Dense module's size, else the pooled size. */
  get dimension(): number {
    let dim = this.config.hiddenSize;
    for (const m of this.modules) {
      if (m.kind === 'pooling') dim = m.config.embeddingDimension * m.config.modes.length;
      else if (m.kind === 'dense') dim = m.layer.config.outFeatures;
    }
    return dim;
  }

  encode(text: string, options?: FloatOptions): Promise<Float32Array>;
  encode(texts: readonly string[], options?: FloatOptions): Promise<Matrix>;
  encode(text: string, options: QuantOptions): Promise<Int8Array | Uint8Array>;
  encode(texts: readonly string[], options: QuantOptions): Promise<QuantizedMatrix>;
  async encode(input: string | readonly string[], options: EncodeOptions = {}): Promise<Float32Array | Int8Array | Uint8Array | Matrix | QuantizedMatrix> {
    if (this.disposed) throw new SemsearchError('MODEL_DISPOSED', 'the model was disposed; load it again', {});
    const single = typeof input === 'string';
    if (!single && !Array.isArray(input)) {
      throw new SemsearchError('INVALID_ARGUMENT', `encode() takes a string or an array of strings, got ${input === null ? 'null' : typeof input}`, {
        field: 'texts',
      });
    }
    const texts = single ? [input] : (input as readonly string[]);
    const out = await encodeTexts({ config: this.config, tokenizer: this.tokenizer, session: this.session, modules: this.modules }, texts, options);
    if (!single) return out;
    return 'precision' in out ? out.data : out.row(0);
  }

  /**
   * Embed inputs given as the model's token ids (no special tokens: the template adds them; long inputs are cut at
   * max_seq_length). Returns the float embeddings and each input's token count.
   */
  async encodeTokenIds(lists: readonly (readonly number[])[], options: EncodeTokenIdsOptions = {}): Promise<{ embeddings: Matrix; tokens: number[] }> {
    if (this.disposed) throw new SemsearchError('MODEL_DISPOSED', 'the model was disposed; load it again', {});
    return encodeTokenIds({ config: this.config, tokenizer: this.tokenizer, session: this.session, modules: this.modules }, lists, options);
  }

  /** encode with the model's "query" prompt, as sentence-transformers' encode_query (a prompt or promptName wins). */
  encodeQuery(texts: readonly string[], options: FloatOptions = {}): Promise<Matrix> {
    return this.encode(texts, { ...options, ...roleOptions(this.config, 'query', options) });
  }

  /** encode with the model's document prompt, as sentence-transformers' encode_document (a prompt or promptName wins). */
  encodeDocument(texts: readonly string[], options: FloatOptions = {}): Promise<Matrix> {
    return this.encode(texts, { ...options, ...roleOptions(this.config, 'document', options) });
  }

  /** Score every a against every b with the model's own similarity function (similarity_fn_name). */
  similarity(a: MatrixLike, b: MatrixLike): Matrix {
    return SIMILARITY_FUNCTIONS[this.config.similarityFnName](a, b);
  }

  /** Token ids with special tokens and the model's truncation, one list per text. */
  tokenize(texts: readonly string[]): number[][] {
    return texts.map((t) => this.tokenizer.encode(t, this.config.maxSeqLength));
  }

  /** Release the ONNX Runtime session. The model cannot encode afterwards. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.session.dispose();
  }
}
