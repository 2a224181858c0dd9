import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chooseInt8Variant, INT8 } from '../cpu/int8.js';
import { detectCpu, type CpuFacts } from '../cpu/features.js';
import { SemsearchError } from '../errors.js';

/**
 * Which files of a sentence-transformers repo semsearch needs: its configs, its tokenizer, the one ONNX export asked
 * for and the module folders modules.json names. Never the PyTorch or safetensors weights of the transformer, which
 * are hundreds of MB that ONNX Runtime does not read.
 */

/** Root files read by the loader (sentence-transformers configs, transformers config, tokenizer files). */
export const CONFIG_FILES = [
  'modules.json',
  'config_sentence_transformers.json',
  'sentence_bert_config.json',
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
  // RoBERTa-style tokenizers, for repos without a tokenizer.json.
  'vocab.json',
  'merges.txt',
  'added_tokens.json',
] as const;

/** ONNX exports the hub ships for sentence-transformers models (onnx/model_<variant>.onnx). */
export const KNOWN_VARIANTS = ['qint8_arm64', 'qint8_avx512', 'qint8_avx512_vnni', 'quint8_avx2', 'O1', 'O2', 'O3', 'O4'] as const;

/** The ONNX file of a concrete variant; 'int8' must be made concrete first (concreteVariant). */
export function onnxFilePath(variant?: string): string {
  if (variant === undefined || variant === '' || variant === 'default') return 'onnx/model.onnx';
  if (variant === INT8) {
    throw new SemsearchError('INVALID_ARGUMENT', `variant '${INT8}' names no file until the CPU picks one (concreteVariant)`, { field: 'variant' });
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(variant)) {
    throw new SemsearchError(
      'INVALID_ARGUMENT',
      `ONNX variant '${variant}' is not a variant name; use e.g. ${KNOWN_VARIANTS.map((v) => `'${v}'`).join(', ')} or leave it out for onnx/model.onnx`,
      { field: 'variant' },
    );
  }
  return `onnx/model_${variant}.onnx`;
}

/** The variants a repo offers, from its file list, for the error message when the asked one is missing. */
export function availableVariants(files: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    const m = /^onnx\/model(?:_(.+))?\.onnx$/.exec(f);
    if (m !== null) out.push(m[1] === undefined ? '(default)' : m[1]);
  }
  return out;
}

/** The ONNX files of a model folder on disk, as variant names ('(default)' for onnx/model.onnx), sorted. */
export function variantsInFolder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, 'onnx'));
  } catch {
    return [];
  }
  return availableVariants(names.sort().map((n) => `onnx/${n}`));
}

/** The variant an ONNX file path names (onnx/model_<variant>.onnx), or undefined for model.onnx and other names. */
export function variantOfFile(file: string): string | undefined {
  return /(?:^|[\\/])model_(.+)\.onnx$/.exec(file)?.[1];
}

/** Checks a variant name; 'int8' is accepted as well, the CPU's choice among the quantized files. */
export function checkVariant(variant?: string): void {
  if (variant !== INT8) onnxFilePath(variant);
}

/**
 * The variant to load: `variant` itself, or for 'int8' the quantized file accurate on this CPU among `offered`
 * (names as availableVariants gives them). Throws ONNX_MISSING when no offered file is accurate here.
 */
export function concreteVariant(variant: string | undefined, offered: readonly string[], cpu: Pick<CpuFacts, 'isa'>, where: string): string | undefined {
  if (variant !== INT8) return variant;
  return chooseInt8Variant(offered, cpu, where).variant;
}

export interface ModuleEntry {
  path: string;
  type: string;
}

/** The module list from modules.json, checked enough that no entry can point outside the repository. */
export function parseModules(text: string, file: string): ModuleEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new SemsearchError('CONFIG_INVALID', `${file} is not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
  if (!Array.isArray(data)) {
    throw new SemsearchError('CONFIG_INVALID', `${file} must be a JSON array of modules`, { file });
  }
  return data.map((m: unknown, i) => {
    const entry = m as { path?: unknown; type?: unknown };
    const path = typeof entry.path === 'string' ? entry.path.replace(/^\.?\/+|\/+$/g, '') : undefined;
    if (path === undefined || typeof entry.type !== 'string') {
      throw new SemsearchError('CONFIG_INVALID', `${file}: module ${i} needs a string 'path' and 'type'`, { file, field: `[${i}]` });
    }
    if (path.split('/').some((seg) => seg === '..') || path.startsWith('/')) {
      throw new SemsearchError('CONFIG_INVALID', `${file}: module ${i} path '${path}' leaves the model folder`, { file, field: `[${i}].path` });
    }
    return { path, type: entry.type };
  });
}

function isTransformerModule(type: string): boolean {
  return /(^|\.)Transformer$/.test(type);
}

/**
 * The files to fetch, from the repo's listing and its modules.json (already parsed, when the repo has one).
 * Throws HUB_NOT_FOUND when the ONNX export asked for is not in the repo, naming those that are.
 */
export function selectModelFiles(
  repoId: string,
  listing: readonly string[],
  modules: readonly ModuleEntry[],
  variantIn?: string,
  cpu?: Pick<CpuFacts, 'isa'>,
): string[] {
  const variant = variantIn === INT8 ? concreteVariant(variantIn, availableVariants(listing), cpu ?? detectCpu(), repoId) : variantIn;
  const listed = new Set(listing);
  const wanted: string[] = [];
  const want = (f: string): void => {
    if (listed.has(f) && !wanted.includes(f)) wanted.push(f);
  };

  for (const f of CONFIG_FILES) want(f);

  for (const m of modules) {
    if (m.path === '') continue;
    const prefix = `${m.path}/`;
    const inFolder = listing.filter((f) => f.startsWith(prefix));
    if (isTransformerModule(m.type)) {
      // An old-style repo keeps the transformer in a subfolder: its configs and tokenizer, not its weights.
      for (const f of CONFIG_FILES) want(prefix + f);
      continue;
    }
    // A Dense or other head: small, and its weights are part of the model. One format is enough.
    const hasSafetensors = listed.has(`${prefix}model.safetensors`);
    for (const f of inFolder) {
      const base = f.slice(prefix.length);
      if (base === 'pytorch_model.bin' && hasSafetensors) continue;
      if (base.startsWith('onnx/') || base.startsWith('openvino/')) continue;
      want(f);
    }
  }

  const onnx = onnxFilePath(variant);
  if (!listed.has(onnx)) {
    const offered = availableVariants(listing);
    throw new SemsearchError(
      'HUB_NOT_FOUND',
      `${repoId} has no ${onnx}` +
        (offered.length > 0
          ? `; it offers the ONNX variants ${offered.join(', ')} (pass { variant } with one of them, or 'int8' for the quantized one accurate on this CPU)`
          : '; it has no ONNX export at all: export one with optimum or sentence-transformers (backend="onnx") and load that folder'),
      { file: onnx, field: 'variant' },
    );
  }
  want(onnx);
  // Models over 2 GB keep their weights in an external data file next to the graph.
  want(`${onnx}_data`);
  return wanted;
}

/**
 * Files a cached snapshot must hold for semsearch to load it offline; without a file listing, optional ones cannot
 * be told apart from missing ones, so only these are checked. Returns each missing requirement.
 */
export function missingForOffline(present: (f: string) => boolean, variant?: string, cpu?: Pick<CpuFacts, 'isa'>): string[] {
  const missing: string[] = [];
  if (variant === INT8) {
    // Any file accurate on this CPU will do; name the one built for it when none is there.
    const offered = KNOWN_VARIANTS.filter((v) => present(onnxFilePath(v)));
    try {
      concreteVariant(variant, offered, cpu ?? detectCpu(), 'the cached snapshot');
    } catch (e) {
      missing.push((e as SemsearchError).file ?? 'onnx/model_quint8_avx2.onnx');
    }
  } else {
    const onnx = onnxFilePath(variant);
    if (!present(onnx)) missing.push(onnx);
  }
  if (!present('config.json')) missing.push('config.json');
  if (!present('tokenizer.json') && !present('vocab.txt') && !present('vocab.json')) missing.push('tokenizer.json');
  return missing;
}
