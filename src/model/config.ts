import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SemsearchError } from '../errors.js';
import { readJsonArray, readJsonObject, type JsonObject } from './json-file.js';

export type ModelType = 'bert' | 'distilbert' | 'mpnet' | 'roberta' | 'xlm-roberta' | 'electra';
export const MODEL_TYPES: readonly ModelType[] = ['bert', 'distilbert', 'mpnet', 'roberta', 'xlm-roberta', 'electra'];

export type PoolingMode = 'cls' | 'max' | 'mean' | 'mean_sqrt_len_tokens' | 'weightedmean' | 'lasttoken';
export const POOLING_MODES: readonly PoolingMode[] = ['cls', 'max', 'mean', 'mean_sqrt_len_tokens', 'weightedmean', 'lasttoken'];

export type SimilarityFnName = 'cosine' | 'dot' | 'euclidean' | 'manhattan';
const SIMILARITY_NAMES: readonly SimilarityFnName[] = ['cosine', 'dot', 'euclidean', 'manhattan'];
const SIMILARITY_ALIASES: Record<string, SimilarityFnName> = { cos_sim: 'cosine', dot_score: 'dot', dot_product: 'dot' };

export interface PoolingConfig {
  embeddingDimension: number;
  /** In output order: several modes concatenate, as sentence-transformers does. */
  modes: PoolingMode[];
  includePrompt: boolean;
}

export interface DenseConfig {
  dir: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  activation: 'identity' | 'tanh';
}

export type ModuleConfig =
  | { kind: 'transformer'; path: string }
  | { kind: 'pooling'; path: string; config: PoolingConfig }
  | { kind: 'dense'; path: string; config: DenseConfig }
  | { kind: 'normalize'; path: string };

/** Everything a sentence-transformers folder says about how to turn text into a vector. */
export interface ModelConfig {
  dir: string;
  modelType: ModelType;
  hiddenSize: number;
  maxSeqLength: number;
  doLowerCase: boolean;
  modules: ModuleConfig[];
  similarityFnName: SimilarityFnName;
  prompts: Record<string, string>;
  defaultPromptName: string | null;
}

// Legacy boolean keys, in the order sentence-transformers concatenates the modes they switch on.
const LEGACY_POOLING_KEYS: [string, PoolingMode][] = [
  ['pooling_mode_cls_token', 'cls'],
  ['pooling_mode_max_tokens', 'max'],
  ['pooling_mode_mean_tokens', 'mean'],
  ['pooling_mode_mean_sqrt_len_tokens', 'mean_sqrt_len_tokens'],
  ['pooling_mode_weightedmean_tokens', 'weightedmean'],
  ['pooling_mode_lasttoken', 'lasttoken'],
];

function positiveInt(v: unknown, file: string, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new SemsearchError('CONFIG_INVALID', `${file}: field "${field}" must be a positive integer, got ${JSON.stringify(v)}`, { file, field });
  }
  return v;
}

export function readPoolingConfig(file: string, hiddenSize: number): PoolingConfig {
  const j = readJsonObject(file);
  let modes: PoolingMode[];
  const mode = j['pooling_mode'];
  if (typeof mode === 'string' || Array.isArray(mode)) {
    modes = (Array.isArray(mode) ? mode : [mode]) as PoolingMode[];
  } else {
    modes = LEGACY_POOLING_KEYS.filter(([key]) => j[key] === true).map(([, m]) => m);
  }
  if (modes.length === 0) {
    throw new SemsearchError('CONFIG_INVALID', `${file}: no pooling mode is switched on`, { file, field: 'pooling_mode' });
  }
  for (const m of modes) {
    if (!POOLING_MODES.includes(m)) {
      throw new SemsearchError('UNSUPPORTED_POOLING', `${file}: unknown pooling mode ${JSON.stringify(m)}; supported: ${POOLING_MODES.join(', ')}`, {
        file,
        field: 'pooling_mode',
      });
    }
  }
  const dimRaw = j['embedding_dimension'] ?? j['word_embedding_dimension'];
  const embeddingDimension = dimRaw === undefined ? hiddenSize : positiveInt(dimRaw, file, 'word_embedding_dimension');
  if (embeddingDimension !== hiddenSize) {
    throw new SemsearchError('CONFIG_INVALID', `${file}: word_embedding_dimension ${embeddingDimension} differs from the transformer's hidden size ${hiddenSize}`, {
      file,
      field: 'word_embedding_dimension',
    });
  }
  return { embeddingDimension, modes, includePrompt: j['include_prompt'] !== false };
}

function readDenseConfig(dir: string): DenseConfig {
  const file = join(dir, 'config.json');
  const j = readJsonObject(file);
  const act = String(j['activation_function'] ?? 'torch.nn.modules.linear.Identity');
  let activation: DenseConfig['activation'];
  if (act.endsWith('Identity')) activation = 'identity';
  else if (act.endsWith('Tanh')) activation = 'tanh';
  else {
    throw new SemsearchError('UNSUPPORTED_MODEL', `${file}: unsupported Dense activation_function ${JSON.stringify(act)} (supported: Identity, Tanh)`, {
      file,
      field: 'activation_function',
    });
  }
  return {
    dir,
    inFeatures: positiveInt(j['in_features'], file, 'in_features'),
    outFeatures: positiveInt(j['out_features'], file, 'out_features'),
    bias: j['bias'] !== false,
    activation,
  };
}

/** The module kind from a modules.json `type` such as "sentence_transformers.models.Pooling". */
function moduleKind(type: string): ModuleConfig['kind'] | undefined {
  const last = type.split('.').pop() ?? '';
  switch (last) {
    case 'Transformer':
      return 'transformer';
    case 'Pooling':
      return 'pooling';
    case 'Dense':
      return 'dense';
    case 'Normalize':
      return 'normalize';
    default:
      return undefined;
  }
}

function readModules(dir: string, hiddenSize: number): ModuleConfig[] {
  const file = join(dir, 'modules.json');
  if (!existsSync(file)) {
    // A plain transformers checkpoint: sentence-transformers falls back to mean pooling.
    return [
      { kind: 'transformer', path: '' },
      { kind: 'pooling', path: '', config: { embeddingDimension: hiddenSize, modes: ['mean'], includePrompt: true } },
    ];
  }
  const entries = readJsonArray(file);
  const modules: ModuleConfig[] = [];
  entries.forEach((e, i) => {
    const entry = e as JsonObject;
    const type = entry['type'];
    const path = typeof entry['path'] === 'string' ? (entry['path'] as string) : '';
    if (typeof type !== 'string') {
      throw new SemsearchError('CONFIG_INVALID', `${file}: entry ${i} has no "type"`, { file, field: `[${i}].type` });
    }
    const kind = moduleKind(type);
    if (kind === undefined) {
      throw new SemsearchError('UNSUPPORTED_MODEL', `${file}: module type ${JSON.stringify(type)} is not supported (Transformer, Pooling, Dense, Normalize are)`, {
        file,
        field: `[${i}].type`,
      });
    }
    if (kind === 'transformer' || kind === 'normalize') modules.push({ kind, path });
    else if (kind === 'pooling') modules.push({ kind, path, config: readPoolingConfig(join(dir, path, 'config.json'), hiddenSize) });
    else modules.push({ kind, path, config: readDenseConfig(join(dir, path)) });
  });
  if (modules[0]?.kind !== 'transformer') {
    throw new SemsearchError('CONFIG_INVALID', `${file}: the first module must be a Transformer`, { file, field: '[0].type' });
  }
  if (!modules.some((m) => m.kind === 'pooling')) {
    throw new SemsearchError('CONFIG_INVALID', `${file}: a Pooling module is required after the Transformer`, { file });
  }
  return modules;
}

/** Read a sentence-transformers model folder into a typed config, validating every field it uses. */
export function readModelConfig(dir: string): ModelConfig {
  if (!existsSync(dir)) {
    throw new SemsearchError('MODEL_NOT_FOUND', `model folder ${dir} does not exist`, { file: dir });
  }
  const hfFile = join(dir, 'config.json');
  if (!existsSync(hfFile)) {
    throw new SemsearchError('CONFIG_MISSING', `${hfFile} is missing: is ${dir} a sentence-transformers model folder?`, { file: hfFile });
  }
  const hf = readJsonObject(hfFile);
  const modelType = hf['model_type'];
  if (typeof modelType !== 'string' || !MODEL_TYPES.includes(modelType as ModelType)) {
    throw new SemsearchError('UNSUPPORTED_MODEL', `${hfFile}: model_type ${JSON.stringify(modelType)} is not supported (${MODEL_TYPES.join(', ')})`, {
      file: hfFile,
      field: 'model_type',
    });
  }
  const hiddenSize = positiveInt(modelType === 'distilbert' ? hf['dim'] ?? hf['hidden_size'] : hf['hidden_size'], hfFile, modelType === 'distilbert' ? 'dim' : 'hidden_size');
  const maxPositions = typeof hf['max_position_embeddings'] === 'number' ? (hf['max_position_embeddings'] as number) : undefined;

  const sbFile = join(dir, 'sentence_bert_config.json');
  const sb = existsSync(sbFile) ? readJsonObject(sbFile) : {};
  let maxSeqLength: number;
  if (sb['max_seq_length'] !== undefined && sb['max_seq_length'] !== null) {
    maxSeqLength = positiveInt(sb['max_seq_length'], sbFile, 'max_seq_length');
  } else {
    // sentence-transformers' fallback: the tokenizer's model_max_length capped by the position table.
    const tcFile = join(dir, 'tokenizer_config.json');
    const tc = existsSync(tcFile) ? readJsonObject(tcFile) : {};
    const tokMax = typeof tc['model_max_length'] === 'number' ? (tc['model_max_length'] as number) : Number.POSITIVE_INFINITY;
    maxSeqLength = Math.min(tokMax, maxPositions ?? Number.POSITIVE_INFINITY);
    if (!Number.isFinite(maxSeqLength)) maxSeqLength = 512;
  }
  const doLowerCase = sb['do_lower_case'] === true;

  const stFile = join(dir, 'config_sentence_transformers.json');
  const st = existsSync(stFile) ? readJsonObject(stFile) : {};
  const rawSim = st['similarity_fn_name'];
  let similarityFnName: SimilarityFnName = 'cosine';
  if (rawSim !== undefined && rawSim !== null) {
    const name = SIMILARITY_ALIASES[String(rawSim)] ?? String(rawSim);
    if (!SIMILARITY_NAMES.includes(name as SimilarityFnName)) {
      throw new SemsearchError('CONFIG_INVALID', `${stFile}: similarity_fn_name ${JSON.stringify(rawSim)} is not one of ${SIMILARITY_NAMES.join(', ')}`, {
        file: stFile,
        field: 'similarity_fn_name',
      });
    }
    similarityFnName = name as SimilarityFnName;
  }
  // sentence-transformers 5 starts every model with "query" and "document" prompts of "" and lets the file fill
  // them and add others; a name whose prompt is "" applies no prompt. So encode_query always resolves "query", and
  // encode_document "document" before "passage" or "corpus": an e5 folder's "passage: " applies only when asked for
  // by name (checked against ST 5.7 in src/encoder/prompts.test.ts).
  const prompts: Record<string, string> = { query: '', document: '' };
  const rawPrompts = st['prompts'];
  if (rawPrompts !== undefined && rawPrompts !== null) {
    if (typeof rawPrompts !== 'object' || Array.isArray(rawPrompts)) {
      throw new SemsearchError('CONFIG_INVALID', `${stFile}: prompts must be an object of name → text`, { file: stFile, field: 'prompts' });
    }
    for (const [k, v] of Object.entries(rawPrompts as JsonObject)) {
      if (typeof v !== 'string') {
        throw new SemsearchError('CONFIG_INVALID', `${stFile}: prompt ${JSON.stringify(k)} must be a string`, { file: stFile, field: `prompts.${k}` });
      }
      prompts[k] = v;
    }
  }
  const dpn = st['default_prompt_name'];
  const defaultPromptName = typeof dpn === 'string' ? dpn : null;
  if (defaultPromptName !== null && prompts[defaultPromptName] === undefined) {
    throw new SemsearchError('CONFIG_INVALID', `${stFile}: default_prompt_name ${JSON.stringify(defaultPromptName)} is not among the prompts`, {
      file: stFile,
      field: 'default_prompt_name',
    });
  }

  return {
    dir,
    modelType: modelType as ModelType,
    hiddenSize,
    maxSeqLength,
    doLowerCase,
    modules: readModules(dir, hiddenSize),
    similarityFnName,
    prompts,
    defaultPromptName,
  };
}
