import { SemsearchError } from '../../errors.js';
import type { JsonObject } from '../json-file.js';
import { floatTensor, int64Tensor, int8Tensor, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnx-proto.js';
import type { WeightTensor } from './safetensors.js';

/** MPNetEmbeddings.padding_idx: the token id whose positions are not counted, fixed in transformers' code. */
const MPNET_PADDING_IDX = 1;

/** torch.finfo(float32).min: what transformers adds to the scores of masked positions. */
const MASKED = -3.4028234663852886e38;

export interface GraphOptions {
  /**
   * Dynamic int8 quantization of every Linear layer, as ONNX Runtime's quantize_dynamic does it: weights quantized per
   * output channel ('s8': symmetric int8, for AVX-512 and VNNI; 'u8': asymmetric uint8, for AVX2), activations to uint8
   * at run time (DynamicQuantizeLinear), MatMulInteger, then the scales and the bias in float.
   */
  int8?: 's8' | 'u8';
  /**
   * A cross-encoder: the *ForSequenceClassification head on the first token, as transformers computes it, and the
   * output `logits` (batch × labels) instead of the token embeddings.
   */
  head?: 'classification';
  /**
   * Told after each layer is built; through buildOnnx, in steps (the weights read, each layer, the model serialised):
   * a real-size model takes tens of seconds, and `semsearch export` shows it.
   */
  onProgress?: (done: number, total: number) => void;
}

/** Where an encoder family keeps its sizes in config.json and its tensors in the checkpoint. */
interface Family {
  name: string;
  /** The prefix a task model's checkpoint puts before the encoder's tensors ("bert.", "distilbert."). */
  taskPrefix: string;
  keys: { hidden: string; heads: string; layers: string; intermediate: string; act: string; eps?: string };
  /**
   * true: token_type_ids is an input, its embeddings added. 'first': the table's row 0 is added to every token and
   * there is no such input (RoBERTa and XLM-R: type_vocab_size 1, and their exports take no token_type_ids).
   */
  tokenTypes: boolean | 'first';
  layer: (l: number) => string;
  parts: { q: string; k: string; v: string; out: string; ln1: string; ff1: string; ff2: string; ln2: string };
  /** DistilBERT scales the queries before the product, BERT the scores after it. */
  scaleQueries: boolean;
  /**
   * 'absolute': position i for token i. 'fairseq' (MPNet): positions count the tokens other than id 1 from 2, and
   * id 1 sits at position 1, as create_position_ids_from_input_ids does with MPNetEmbeddings.padding_idx, which
   * transformers fixes at 1 whatever config.json's pad_token_id says. 'fairseq-config': the same counting from
   * config.json's pad_token_id (RobertaEmbeddings.padding_idx = config.pad_token_id).
   */
  positions: 'absolute' | 'fairseq' | 'fairseq-config';
  /** MPNet: a learned bias per head for each bucket of relative distance, added to every layer's scores. */
  relativeBias: boolean;
}

const BERT: Family = {
  name: 'BERT',
  taskPrefix: 'bert.',
  keys: { hidden: 'hidden_size', heads: 'num_attention_heads', layers: 'num_hidden_layers', intermediate: 'intermediate_size', act: 'hidden_act', eps: 'layer_norm_eps' },
  tokenTypes: true,
  layer: (l) => `encoder.layer.${l}`,
  parts: {
    q: 'attention.self.query',
    k: 'attention.self.key',
    v: 'attention.self.value',
    out: 'attention.output.dense',
    ln1: 'attention.output.LayerNorm',
    ff1: 'intermediate.dense',
    ff2: 'output.dense',
    ln2: 'output.LayerNorm',
  },
  scaleQueries: false,
  positions: 'absolute',
  relativeBias: false,
};

/**
 * ELECTRA's discriminator has BERT's layers under its own prefix; its embeddings are embedding_size wide, projected to
 * hidden_size by embeddings_project where the two differ.
 */
const ELECTRA: Family = { ...BERT, name: 'ELECTRA', taskPrefix: 'electra.' };

/**
 * RoBERTa and XLM-RoBERTa (the same modules, XLMRobertaModel subclasses RobertaModel's code): BERT's layers, positions
 * counted from the padding index, one token type.
 */
const ROBERTA: Family = { ...BERT, name: 'RoBERTa', taskPrefix: 'roberta.', tokenTypes: 'first', positions: 'fairseq-config' };

const DISTILBERT: Family = {
  name: 'DistilBERT',
  taskPrefix: 'distilbert.',
  keys: { hidden: 'dim', heads: 'n_heads', layers: 'n_layers', intermediate: 'hidden_dim', act: 'activation' },
  tokenTypes: false,
  layer: (l) => `transformer.layer.${l}`,
  parts: {
    q: 'attention.q_lin',
    k: 'attention.k_lin',
    v: 'attention.v_lin',
    out: 'attention.out_lin',
    ln1: 'sa_layer_norm',
    ff1: 'ffn.lin1',
    ff2: 'ffn.lin2',
    ln2: 'output_layer_norm',
  },
  scaleQueries: true,
  positions: 'absolute',
  relativeBias: false,
};

const MPNET: Family = {
  name: 'MPNet',
  taskPrefix: 'mpnet.',
  keys: { hidden: 'hidden_size', heads: 'num_attention_heads', layers: 'num_hidden_layers', intermediate: 'intermediate_size', act: 'hidden_act', eps: 'layer_norm_eps' },
  tokenTypes: false,
  layer: (l) => `encoder.layer.${l}`,
  parts: {
    q: 'attention.attn.q',
    k: 'attention.attn.k',
    v: 'attention.attn.v',
    out: 'attention.attn.o',
    ln1: 'attention.LayerNorm',
    ff1: 'intermediate.dense',
    ff2: 'output.dense',
    ln2: 'output.LayerNorm',
  },
  scaleQueries: false,
  positions: 'fairseq',
  relativeBias: true,
};

/** An MPNet encoder (MPNetModel): fairseq positions and relative position buckets; see encoderGraph. */
export function mpnetGraph(config: JsonObject, weights: ReadonlyMap<string, WeightTensor>, file: string, options: GraphOptions = {}): OnnxModel {
  return encoderGraph(MPNET, config, weights, file, options);
}

/** BERT and ELECTRA read position_embedding_type; only absolute positions are built (relative_key* add distance terms). */
function absolutePositionsOnly(config: JsonObject, file: string): void {
  if (config['position_embedding_type'] !== undefined && config['position_embedding_type'] !== 'absolute') {
    throw new SemsearchError('UNSUPPORTED_MODEL', `${file}: position_embedding_type ${JSON.stringify(config['position_embedding_type'])} is not built (absolute is)`, { file, field: 'position_embedding_type' });
  }
}

/** A BERT encoder (BertModel) over its checkpoint; see encoderGraph. */
export function bertGraph(config: JsonObject, weights: ReadonlyMap<string, WeightTensor>, file: string, options: GraphOptions = {}): OnnxModel {
  absolutePositionsOnly(config, file);
  return encoderGraph(BERT, config, weights, file, options);
}

/**
 * An ELECTRA encoder (ElectraModel): embeddings at embedding_size, projected to hidden_size by embeddings_project
 * where the two differ; see encoderGraph.
 */
export function electraGraph(config: JsonObject, weights: ReadonlyMap<string, WeightTensor>, file: string, options: GraphOptions = {}): OnnxModel {
  absolutePositionsOnly(config, file);
  return encoderGraph(ELECTRA, config, weights, file, options);
}

/**
 * A RoBERTa or XLM-RoBERTa encoder (RobertaModel, XLMRobertaModel): position ids from create_position_ids_from_input_ids
 * (tokens other than pad_token_id counted from pad_token_id + 1, pads at pad_token_id), token type 0 only; see
 * encoderGraph.
 */
export function robertaGraph(config: JsonObject, weights: ReadonlyMap<string, WeightTensor>, file: string, options: GraphOptions = {}): OnnxModel {
  absolutePositionsOnly(config, file);
  return encoderGraph(ROBERTA, config, weights, file, options);
}

/** A DistilBERT encoder (DistilBertModel): no token types, queries scaled before the product; see encoderGraph. */
export function distilbertGraph(config: JsonObject, weights: ReadonlyMap<string, WeightTensor>, file: string, options: GraphOptions = {}): OnnxModel {
  return encoderGraph(DISTILBERT, config, weights, file, options);
}

/**
 * An encoder as transformers computes it, as an ONNX graph over its checkpoint: embeddings (word, token type where the
 * family has them, absolute position) and LayerNorm, then per layer self-attention with the padding mask, the output
 * dense and LayerNorm, the feed-forward with the config's activation, and LayerNorm. Inputs input_ids, attention_mask
 * (and token_type_ids), int64 batch × sequence; output last_hidden_state, float32 batch × sequence × hidden. Opset 17,
 * plain operators in the patterns ONNX Runtime's optimiser fuses (LayerNormalization, Erf GELU into BiasGelu, the
 * scale into FusedMatMul).
 */
function encoderGraph(family: Family, config: JsonObject, weights: ReadonlyMap<string, WeightTensor>, file: string, options: GraphOptions): OnnxModel {
  const num = (k: string): number => {
    const v = config[k];
    if (typeof v !== 'number') throw new SemsearchError('CONFIG_INVALID', `${file}: config.json lacks ${k}`, { file, field: k });
    return v;
  };
  const hidden = num(family.keys.hidden);
  const heads = num(family.keys.heads);
  const layers = num(family.keys.layers);
  const eps = family.keys.eps !== undefined && typeof config[family.keys.eps] === 'number' ? (config[family.keys.eps] as number) : 1e-12;
  const act = typeof config[family.keys.act] === 'string' ? (config[family.keys.act] as string) : 'gelu';
  // ELECTRA's embeddings are embedding_size wide (ElectraConfig's default where config.json lacks it: 128).
  const embedDim = family !== ELECTRA ? hidden : typeof config['embedding_size'] === 'number' ? (config['embedding_size'] as number) : 128;
  if (hidden % heads !== 0) throw new SemsearchError('CONFIG_INVALID', `${file}: ${family.keys.hidden} ${hidden} is not a multiple of ${family.keys.heads} ${heads}`, { file, field: family.keys.hidden });
  const headDim = hidden / heads;
  // Checkpoints of the bare model have bare names; those saved from a task model prefix them.
  const found = weights.has('embeddings.word_embeddings.weight') ? '' : weights.has(`${family.taskPrefix}embeddings.word_embeddings.weight`) ? family.taskPrefix : undefined;
  if (found === undefined) throw new SemsearchError('CONFIG_INVALID', `the checkpoint beside ${file} has no embeddings.word_embeddings.weight: not a ${family.name} model`, { file, field: 'embeddings.word_embeddings.weight' });

  const prefix: string = found;
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  let n = 0;
  const op = (type: string, inputs: string[], attrs?: OnnxNode['attrs']): string => {
    const out = `${type.toLowerCase()}_${n++}`;
    nodes.push({ op: type, inputs, outputs: [out], name: out, ...(attrs !== undefined ? { attrs } : {}) });
    return out;
  };
  // Tensors are named within `scope`: the encoder's prefix, or none for a task head's (classifier.*).
  const weight = (name: string, shape: number[], scope = prefix): WeightTensor => {
    const full = scope + name;
    const t = weights.get(full);
    if (t === undefined) throw new SemsearchError('CONFIG_INVALID', `the checkpoint beside ${file} lacks tensor ${full}`, { file, field: full });
    if (t.shape.length !== shape.length || t.shape.some((d, i) => shape[i] !== -1 && d !== shape[i])) {
      throw new SemsearchError('CONFIG_INVALID', `tensor ${full} has shape [${t.shape.join(', ')}], config.json implies [${shape.map((d) => (d === -1 ? '?' : d)).join(', ')}]`, { file, field: full });
    }
    return t;
  };
  const init = (name: string, shape: number[], scope = prefix): string => {
    const t = weight(name, shape, scope);
    initializers.push(floatTensor(name, t.shape, t.data));
    return name;
  };
  // A Linear layer's weight is [out, in]; MatMul wants [in, out].
  const linear = (x: string, name: string, outDim: number, inDim: number, scope = prefix): string => {
    const w = weight(`${name}.weight`, [outDim, inDim], scope);
    const bias = init(`${name}.bias`, [outDim], scope);
    if (options.int8 !== undefined) return quantizedLinear(x, name, w.data, outDim, inDim, bias, options.int8);
    const t = new Float32Array(inDim * outDim);
    for (let o = 0; o < outDim; o++) for (let i = 0; i < inDim; i++) t[i * outDim + o] = w.data[o * inDim + i] as number;
    initializers.push(floatTensor(`${name}.weight.T`, [inDim, outDim], t));
    return op('Add', [op('MatMul', [x, `${name}.weight.T`]), bias]);
  };
  // One activation quantization per tensor, shared by the Linear layers that read it (query, key and value).
  const quantizedInputs = new Map<string, [string, string, string]>();
  const quantizedLinear = (x: string, name: string, w: Float32Array, outDim: number, inDim: number, bias: string, kind: 's8' | 'u8'): string => {
    // Per output channel: symmetric s8 (zero point 0, scale max|w|/127) or asymmetric u8 over [min(w,0), max(w,0)].
    const q = kind === 's8' ? new Int8Array(inDim * outDim) : new Uint8Array(inDim * outDim);
    const zp = kind === 's8' ? new Int8Array(outDim) : new Uint8Array(outDim);
    const scales = new Float32Array(outDim);
    for (let o = 0; o < outDim; o++) {
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < inDim; i++) {
        const v = w[o * inDim + i] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      let scale: number;
      let zero: number;
      if (kind === 's8') {
        scale = Math.max(-lo, hi) / 127;
        zero = 0;
      } else {
        scale = (hi - lo) / 255;
        zero = scale === 0 ? 0 : Math.min(255, Math.max(0, Math.round(-lo / scale)));
      }
      scale = Math.fround(scale === 0 ? 1 : scale);
      scales[o] = scale;
      zp[o] = zero;
      const [qmin, qmax] = kind === 's8' ? [-127, 127] : [0, 255];
      for (let i = 0; i < inDim; i++) q[i * outDim + o] = Math.min(qmax, Math.max(qmin, Math.round((w[o * inDim + i] as number) / scale) + zero));
    }
    initializers.push(int8Tensor(`${name}.weight.T.quantized`, [inDim, outDim], q, kind === 's8'));
    initializers.push(int8Tensor(`${name}.weight.zero_point`, [outDim], zp, kind === 's8'));
    initializers.push(floatTensor(`${name}.weight.scale`, [outDim], scales));
    let a = quantizedInputs.get(x);
    if (a === undefined) {
      const out = `dql_${n++}`;
      nodes.push({ op: 'DynamicQuantizeLinear', inputs: [x], outputs: [`${out}_q`, `${out}_scale`, `${out}_zp`], name: out });
      a = [`${out}_q`, `${out}_scale`, `${out}_zp`];
      quantizedInputs.set(x, a);
    }
    const product = op('MatMulInteger', [a[0], `${name}.weight.T.quantized`, a[2], `${name}.weight.zero_point`]);
    const scale = op('Mul', [a[1], `${name}.weight.scale`]);
    return op('Add', [op('Mul', [op('Cast', [product], { to: { i: 1 } }), scale]), bias]);
  };
  const layerNorm = (x: string, name: string, dim = hidden): string => op('LayerNormalization', [x, init(`${name}.weight`, [dim]), init(`${name}.bias`, [dim])], { axis: { i: -1 }, epsilon: { f: eps } });
  const constI = (name: string, values: number[]): string => {
    initializers.push(int64Tensor(name, values));
    return name;
  };
  const constI0 = (name: string, v: number): string => {
    initializers.push({ ...int64Tensor(name, [v]), dims: [] });
    return name;
  };
  const constF = (name: string, v: number): string => {
    initializers.push(floatTensor(name, [], Float32Array.of(v)));
    return name;
  };

  // Embeddings: (word + token type) + position, in the order transformers adds them.
  const word = op('Gather', [init('embeddings.word_embeddings.weight', [-1, embedDim]), 'input_ids']);
  const seq = op('Gather', [op('Shape', ['input_ids']), constI('one_1d', [1])]);
  const zero = constI('zero_1d', [0]);
  let first = word;
  if (family.tokenTypes === true) first = op('Add', [word, op('Gather', [init('embeddings.token_type_embeddings.weight', [-1, embedDim]), 'token_type_ids'])]);
  else if (family.tokenTypes === 'first') {
    // Row 0 of the table, 1 × width, broadcast over batch and sequence: what transformers adds for all-zero type ids.
    first = op('Add', [word, op('Slice', [init('embeddings.token_type_embeddings.weight', [-1, embedDim]), zero, constI('one_row', [1]), zero])]);
  }
  const posTable = init('embeddings.position_embeddings.weight', [-1, embedDim]);
  let pos: string;
  if (family.positions === 'absolute') pos = op('Slice', [posTable, zero, seq, zero]);
  else {
    // MPNet: not config['pad_token_id'], as MPNetEmbeddings sets self.padding_idx = 1 and never reads the config's.
    const pad = family.positions === 'fairseq' ? MPNET_PADDING_IDX : num('pad_token_id');
    const real = op('Cast', [op('Not', [op('Equal', ['input_ids', constI('pad_id', [pad])])])], { to: { i: 7 } });
    const counted = op('Mul', [op('CumSum', [real, constI('axis_1', [1])]), real]);
    pos = op('Gather', [posTable, op('Add', [counted, constI('pad_offset', [pad])])]);
  }
  let x = layerNorm(op('Add', [first, pos]), 'embeddings.LayerNorm', embedDim);
  if (embedDim !== hidden) x = linear(x, 'embeddings_project', hidden, embedDim);
  const bias = family.relativeBias ? relativeBias() : undefined;

  /**
   * MPNet's compute_position_bias: relative_position_bucket(memory − context) with 32 buckets and max distance 128
   * (half the buckets for each direction, exact below 8, logarithmic above), looked up per head: 1 × heads × S × S.
   * transformers always buckets into 32 (compute_position_bias's num_buckets), whatever relative_attention_num_buckets
   * says; that only sizes the table, of which the first 32 rows are read.
   */
  function relativeBias(): string {
    const rows = weight('encoder.relative_attention_bias.weight', [-1, heads]).shape[0] as number;
    if (rows < 32) throw new SemsearchError('CONFIG_INVALID', `tensor ${prefix}encoder.relative_attention_bias.weight has ${rows} rows; MPNet reads buckets 0 to 31`, { file, field: `${prefix}encoder.relative_attention_bias.weight` });
    const table = init('encoder.relative_attention_bias.weight', [rows, heads]);
    const len = op('Squeeze', [seq, zero]);
    const r = op('Range', [constI0('range_start', 0), len, constI0('range_step', 1)]);
    const rel = op('Sub', [op('Unsqueeze', [r, zero]), op('Unsqueeze', [r, constI('one_axis', [1])])]);
    const neg = op('Neg', [rel]);
    const sign = op('Mul', [op('Cast', [op('Less', [neg, constI0('zero_i', 0)])], { to: { i: 7 } }), constI0('half_buckets', 16)]);
    const dist = op('Abs', [neg]);
    const small = op('Less', [dist, constI0('max_exact', 8)]);
    const logRatio = op('Div', [op('Log', [op('Div', [op('Cast', [dist], { to: { i: 1 } }), constF('max_exact_f', 8)])]), constF('log_16', Math.log(128 / 8))]);
    const large = op('Min', [op('Add', [constI0('max_exact_i', 8), op('Cast', [op('Mul', [logRatio, constF('eight', 8)])], { to: { i: 7 } })]), constI0('last_bucket', 15)]);
    const bucket = op('Add', [sign, op('Where', [small, dist, large])]);
    return op('Unsqueeze', [op('Transpose', [op('Gather', [table, bucket])], { perm: { ints: [2, 0, 1] } }), zero]);
  }

  // The additive mask: 0 where attended, the float32 minimum where padded; batch × 1 × 1 × sequence.
  const maskF = op('Cast', ['attention_mask'], { to: { i: 1 } });
  const mask = op('Unsqueeze', [op('Mul', [op('Sub', [constF('one', 1), maskF]), constF('masked', MASKED)]), constI('axes_1_2', [1, 2])]);
  const split = constI('split_heads', [0, 0, heads, headDim]);
  const merge = constI('merge_heads', [0, 0, hidden]);
  const scale = constF('scale', Math.sqrt(headDim));
  const activation = (h: string, fn = act): string => {
    if (fn === 'gelu') return op('Mul', [op('Mul', [h, constF(`half_${n}`, 0.5)]), op('Add', [op('Erf', [op('Div', [h, constF(`sqrt2_${n}`, Math.SQRT2)])]), constF(`one_${n}`, 1)])]);
    if (fn === 'gelu_new' || fn === 'gelu_pytorch_tanh') {
      const cube = op('Mul', [op('Mul', [op('Mul', [h, h]), h]), constF(`c_${n}`, 0.044715)]);
      const inner = op('Mul', [op('Add', [h, cube]), constF(`k_${n}`, Math.sqrt(2 / Math.PI))]);
      return op('Mul', [op('Mul', [h, constF(`half_${n}`, 0.5)]), op('Add', [op('Tanh', [inner]), constF(`one_${n}`, 1)])]);
    }
    if (fn === 'relu') return op('Relu', [h]);
    throw new SemsearchError('UNSUPPORTED_MODEL', `${file}: ${family.keys.act} ${JSON.stringify(fn)} is not built (gelu, gelu_new, gelu_pytorch_tanh, relu are)`, { file, field: family.keys.act });
  };
  const inter = num(family.keys.intermediate);
  const { parts } = family;
  for (let l = 0; l < layers; l++) {
    const p = family.layer(l);
    const heads_ = (t: string, perm: number[]): string => op('Transpose', [op('Reshape', [t, split])], { perm: { ints: perm } });
    const q0 = heads_(linear(x, `${p}.${parts.q}`, hidden, hidden), [0, 2, 1, 3]);
    const k = heads_(linear(x, `${p}.${parts.k}`, hidden, hidden), [0, 2, 3, 1]);
    const v = heads_(linear(x, `${p}.${parts.v}`, hidden, hidden), [0, 2, 1, 3]);
    const scores = family.scaleQueries ? op('MatMul', [op('Div', [q0, scale]), k]) : op('Div', [op('MatMul', [q0, k]), scale]);
    const probs = op('Softmax', [op('Add', [bias === undefined ? scores : op('Add', [scores, bias]), mask])], { axis: { i: -1 } });
    const ctx = op('Reshape', [op('Transpose', [op('MatMul', [probs, v])], { perm: { ints: [0, 2, 1, 3] } }), merge]);
    const attn = layerNorm(op('Add', [linear(ctx, `${p}.${parts.out}`, hidden, hidden), x]), `${p}.${parts.ln1}`);
    const ff = linear(activation(linear(attn, `${p}.${parts.ff1}`, inter, hidden)), `${p}.${parts.ff2}`, hidden, inter);
    x = layerNorm(op('Add', [ff, attn]), `${p}.${parts.ln2}`);
    options.onProgress?.(l + 1, layers);
  }
  const io = (name: string): { name: string; elemType: 7; shape: string[] } => ({ name, elemType: 7, shape: ['batch', 'sequence'] });
  let output: OnnxModel['outputs'][number];
  if (options.head === 'classification') {
    // The head reads the first token. Its tensors sit outside the encoder's prefix (classifier.*, pre_classifier.*),
    // except BERT's pooler.
    const cls = op('Gather', [x, constI0('first_token', 0)], { axis: { i: 1 } });
    // RobertaClassificationHead (and MPNet's): dense, tanh, out_proj.
    const last = family === BERT || family === DISTILBERT ? 'classifier' : 'classifier.out_proj';
    const labels = weights.get(`${last}.weight`)?.shape[0];
    if (labels === undefined) throw new SemsearchError('CONFIG_INVALID', `the checkpoint beside ${file} lacks tensor ${last}.weight: not a ${family.name}ForSequenceClassification`, { file, field: `${last}.weight` });
    const dense = (name: string, input: string, scope = ''): string => linear(input, name, hidden, hidden, scope);
    // ElectraClassificationHead's activation is GELU (erf) whatever hidden_act says.
    const hiddenState = family === BERT ? op('Tanh', [dense('pooler.dense', cls, prefix)]) : family === ELECTRA ? activation(dense('classifier.dense', cls), 'gelu') : family === DISTILBERT ? op('Relu', [dense('pre_classifier', cls)]) : op('Tanh', [dense('classifier.dense', cls)]);
    nodes.push({ op: 'Identity', inputs: [linear(hiddenState, last, labels, hidden, '')], outputs: ['logits'], name: 'output' });
    output = { name: 'logits', elemType: 1, shape: ['batch', labels] };
  } else {
    nodes.push({ op: 'Identity', inputs: [x], outputs: ['last_hidden_state'], name: 'output' });
    output = { name: 'last_hidden_state', elemType: 1, shape: ['batch', 'sequence', hidden] };
  }
  return {
    producer: 'semsearch',
    opset: 17,
    graphName: options.head === 'classification' ? `${family.name}ForSequenceClassification` : family.name,
    nodes,
    initializers,
    inputs: [io('input_ids'), io('attention_mask'), ...(family.tokenTypes === true ? [io('token_type_ids')] : [])],
    outputs: [output],
  };
}
