import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SemsearchError } from '../errors.js';
import { readJsonObject, type JsonObject } from './json-file.js';

/**
 * Architectures a cross-encoder may have: the WordPiece family, whose tokenizers semsearch reproduces. RoBERTa and
 * XLM-R cross-encoders need byte-level BPE or SentencePiece tokenizers, which it does not have yet.
 */
export type CrossModelType = 'bert' | 'electra' | 'distilbert' | 'mpnet' | 'roberta' | 'xlm-roberta';
export const CROSS_MODEL_TYPES: readonly CrossModelType[] = ['bert', 'electra', 'distilbert', 'mpnet', 'roberta', 'xlm-roberta'];

/** What CrossEncoder applies to the logits in predict(): the torch modules it saves by name, here by short name. */
export type CrossActivation = 'sigmoid' | 'identity' | 'tanh' | 'relu' | 'softmax';
export const CROSS_ACTIVATIONS: readonly CrossActivation[] = ['sigmoid', 'identity', 'tanh', 'relu', 'softmax'];

const TORCH_ACTIVATIONS: Record<string, CrossActivation> = {
  'torch.nn.modules.activation.Sigmoid': 'sigmoid',
  'torch.nn.modules.linear.Identity': 'identity',
  'torch.nn.modules.activation.Tanh': 'tanh',
  'torch.nn.modules.activation.ReLU': 'relu',
  'torch.nn.modules.activation.Softmax': 'softmax',
  'torch.nn.Sigmoid': 'sigmoid',
  'torch.nn.Identity': 'identity',
  'torch.nn.Tanh': 'tanh',
  'torch.nn.ReLU': 'relu',
  'torch.nn.Softmax': 'softmax',
};

export interface CrossEncoderConfig {
  dir: string;
  modelType: CrossModelType;
  /** config.json's architectures[0], e.g. BertForSequenceClassification. */
  architecture: string;
  /** Outputs per pair (config.json's id2label; transformers' default 2 when absent). */
  numLabels: number;
  /** Label names by output index, from id2label. */
  labels: string[];
  /** The activation predict() applies by default, and the file and field it came from ('default': none said). */
  activation: CrossActivation;
  activationFrom: string;
  /** Tokens a pair is truncated to, special tokens included. */
  maxLength: number;
  /** sentence_bert_config.json's do_lower_case. */
  doLowerCase: boolean;
}

function positiveInt(v: unknown, file: string, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new SemsearchError('CONFIG_INVALID', `${file}: ${field} must be a positive integer, got ${JSON.stringify(v)}`, { file, field });
  }
  return v;
}

/**
 * An activation path as CrossEncoder saved it. Like CrossEncoder, a path outside torch is not trusted (it would be
 * imported and run): the caller is warned and the default applies. A torch module semsearch does not implement is
 * refused rather than silently replaced.
 */
function activationOf(path: unknown, file: string, field: string, warn: (m: string) => void): CrossActivation | undefined {
  if (path === undefined || path === null) return undefined;
  if (typeof path !== 'string') throw new SemsearchError('CONFIG_INVALID', `${file}: ${field} must be a string naming a torch module`, { file, field });
  const known = TORCH_ACTIVATIONS[path];
  if (known !== undefined) return known;
  if (!path.startsWith('torch.')) {
    warn(`${file}: ${field} ${JSON.stringify(path)} is not a torch module; as CrossEncoder does without trust_remote_code, the default activation is used`);
    return undefined;
  }
  throw new SemsearchError('UNSUPPORTED_MODEL', `${file}: ${field} ${JSON.stringify(path)} is not an activation semsearch implements (${Object.keys(TORCH_ACTIVATIONS).slice(0, 5).join(', ')})`, {
    file,
    field,
  });
}

/**
 * Read a cross-encoder folder as sentence-transformers' CrossEncoder does: config.json (a *ForSequenceClassification
 * of a supported type), the activation (config_sentence_transformers.json's activation_fn as sentence-transformers 4+
 * saves it, else config.json's sentence_transformers.activation_fn, else the pre-v4 sbert_ce_default_activation_function,
 * else Sigmoid for one label and Identity for more), and the max length (the tokenizer's model_max_length, which a
 * sentence_bert_config.json max_seq_length sets, capped by the position table).
 */
export function readCrossEncoderConfig(dir: string, warn: (m: string) => void = () => undefined): CrossEncoderConfig {
  if (!existsSync(dir)) throw new SemsearchError('MODEL_NOT_FOUND', `model folder ${dir} does not exist`, { file: dir });
  const hfFile = join(dir, 'config.json');
  if (!existsSync(hfFile)) throw new SemsearchError('CONFIG_MISSING', `${hfFile} is missing: is ${dir} a cross-encoder folder?`, { file: hfFile });
  const hf = readJsonObject(hfFile);
  const architecture = Array.isArray(hf['architectures']) ? hf['architectures'][0] : undefined;
  if (typeof architecture !== 'string' || !architecture.endsWith('ForSequenceClassification')) {
    throw new SemsearchError(
      'UNSUPPORTED_MODEL',
      `${hfFile}: architectures[0] is ${JSON.stringify(architecture)}; a cross-encoder is a *ForSequenceClassification (a bi-encoder loads with loadModel)`,
      { file: hfFile, field: 'architectures' },
    );
  }
  const modelType = hf['model_type'];
  if (typeof modelType !== 'string' || !CROSS_MODEL_TYPES.includes(modelType as CrossModelType)) {
    const why = modelType === 'camembert' ? ': its graph is not built and its export not tested yet' : '';
    throw new SemsearchError('UNSUPPORTED_MODEL', `${hfFile}: model_type ${JSON.stringify(modelType)} is not supported for cross-encoders (${CROSS_MODEL_TYPES.join(', ')})${why}`, {
      file: hfFile,
      field: 'model_type',
    });
  }
  const id2label = hf['id2label'];
  let labels: string[];
  if (id2label !== undefined && id2label !== null) {
    if (typeof id2label !== 'object' || Array.isArray(id2label)) throw new SemsearchError('CONFIG_INVALID', `${hfFile}: id2label must be an object`, { file: hfFile, field: 'id2label' });
    const entries = Object.entries(id2label as JsonObject);
    labels = entries.map((_, i) => String((id2label as JsonObject)[String(i)] ?? `LABEL_${i}`));
  } else {
    const n = hf['num_labels'] !== undefined ? positiveInt(hf['num_labels'], hfFile, 'num_labels') : 2;
    labels = Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  }
  if (labels.length < 1) throw new SemsearchError('CONFIG_INVALID', `${hfFile}: id2label is empty`, { file: hfFile, field: 'id2label' });

  const stFile = join(dir, 'config_sentence_transformers.json');
  const st = existsSync(stFile) ? readJsonObject(stFile) : {};
  const hfSt = hf['sentence_transformers'];
  let activation: CrossActivation | undefined;
  let activationFrom = 'default';
  for (const [value, file, field] of [
    [st['activation_fn'], stFile, 'activation_fn'],
    [hfSt !== null && typeof hfSt === 'object' ? (hfSt as JsonObject)['activation_fn'] : undefined, hfFile, 'sentence_transformers.activation_fn'],
    [hf['sbert_ce_default_activation_function'], hfFile, 'sbert_ce_default_activation_function'],
  ] as const) {
    activation = activationOf(value, file, field, warn);
    if (activation !== undefined) {
      activationFrom = `${file}: ${field}`;
      break;
    }
  }
  activation ??= labels.length === 1 ? 'sigmoid' : 'identity';

  const sbFile = join(dir, 'sentence_bert_config.json');
  const sb = existsSync(sbFile) ? readJsonObject(sbFile) : {};
  const tcFile = join(dir, 'tokenizer_config.json');
  const tc = existsSync(tcFile) ? readJsonObject(tcFile) : {};
  const positions = typeof hf['max_position_embeddings'] === 'number' ? (hf['max_position_embeddings'] as number) : undefined;
  // RoBERTa-style position tables start after the padding index: two fewer usable positions.
  const usable = positions === undefined ? undefined : modelType === 'mpnet' || modelType === 'roberta' || modelType === 'xlm-roberta' ? positions - 2 : positions;
  let maxLength: number;
  if (sb['max_seq_length'] !== undefined && sb['max_seq_length'] !== null) maxLength = positiveInt(sb['max_seq_length'], sbFile, 'max_seq_length');
  else {
    const tokMax = typeof tc['model_max_length'] === 'number' && tc['model_max_length'] < 1e9 ? (tc['model_max_length'] as number) : Number.POSITIVE_INFINITY;
    maxLength = Math.min(tokMax, usable ?? Number.POSITIVE_INFINITY);
    if (!Number.isFinite(maxLength)) maxLength = 512;
  }
  return { dir, modelType: modelType as CrossModelType, architecture, numLabels: labels.length, labels, activation, activationFrom, maxLength, doLowerCase: sb['do_lower_case'] === true };
}
