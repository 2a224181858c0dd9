import { statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { SemsearchError } from '../errors.js';

/**
 * The organisation sentence-transformers puts in front of a bare model name (sentence_transformers/__init__.py).
 */
export const DEFAULT_ORGANIZATION = 'sentence-transformers';

/**
 * Bare names sentence-transformers leaves without the organisation prefix, because they are the original
 * transformers checkpoints that live at the top level of the hub (sentence_transformers/util/misc.py).
 */
const ORIGINAL_TRANSFORMER_MODELS = new Set([
  'albert-base-v1', 'albert-base-v2', 'albert-large-v1', 'albert-large-v2', 'albert-xlarge-v1', 'albert-xlarge-v2',
  'albert-xxlarge-v1', 'albert-xxlarge-v2', 'bert-base-cased-finetuned-mrpc', 'bert-base-cased', 'bert-base-chinese',
  'bert-base-german-cased', 'bert-base-german-dbmdz-cased', 'bert-base-german-dbmdz-uncased',
  'bert-base-multilingual-cased', 'bert-base-multilingual-uncased', 'bert-base-uncased',
  'bert-large-cased-whole-word-masking-finetuned-squad', 'bert-large-cased-whole-word-masking', 'bert-large-cased',
  'bert-large-uncased-whole-word-masking-finetuned-squad', 'bert-large-uncased-whole-word-masking', 'bert-large-uncased',
  'camembert-base', 'ctrl', 'distilbert-base-cased-distilled-squad', 'distilbert-base-cased',
  'distilbert-base-german-cased', 'distilbert-base-multilingual-cased', 'distilbert-base-uncased-distilled-squad',
  'distilbert-base-uncased-finetuned-sst-2-english', 'distilbert-base-uncased', 'distilgpt2', 'distilroberta-base',
  'gpt2-large', 'gpt2-medium', 'gpt2-xl', 'gpt2', 'openai-gpt', 'roberta-base-openai-detector', 'roberta-base',
  'roberta-large-mnli', 'roberta-large-openai-detector', 'roberta-large', 't5-11b', 't5-3b', 't5-base', 't5-large',
  't5-small', 'transfo-xl-wt103', 'xlm-clm-ende-1024', 'xlm-clm-enfr-1024', 'xlm-mlm-100-1280', 'xlm-mlm-17-1280',
  'xlm-mlm-en-2048', 'xlm-mlm-ende-1024', 'xlm-mlm-enfr-1024', 'xlm-mlm-enro-1024', 'xlm-mlm-tlm-xnli15-1024',
  'xlm-mlm-xnli15-1024', 'xlm-roberta-base', 'xlm-roberta-large-finetuned-conll02-dutch',
  'xlm-roberta-large-finetuned-conll02-spanish', 'xlm-roberta-large-finetuned-conll03-english',
  'xlm-roberta-large-finetuned-conll03-german', 'xlm-roberta-large', 'xlnet-base-cased', 'xlnet-large-cased',
]);

export type ModelRef = { kind: 'local'; dir: string } | { kind: 'hub'; repoId: string };

// The hub's own rule for repo names (huggingface_hub validate_repo_id): letters, digits, - _ . and no `--` or `..`,
// which would make the cache folder name (owner--name) ambiguous or escape the cache.
const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$/;

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function validRepoPart(part: string): boolean {
  return REPO_PART.test(part) && !part.includes('--') && !part.includes('..') && !part.endsWith('.') && !part.endsWith('-');
}

/**
 * What sentence-transformers does with `SentenceTransformer(nameOrPath)`: an existing folder is used as is; anything
 * else is a hub repo id, and a bare name without an owner gets the `sentence-transformers/` prefix.
 */
export function parseModelRef(nameOrPath: string): ModelRef {
  if (typeof nameOrPath !== 'string' || nameOrPath.trim() === '') {
    throw new SemsearchError('INVALID_ARGUMENT', 'model name or path must be a non-empty string', { field: 'nameOrPath' });
  }
  if (isDirectory(nameOrPath)) return { kind: 'local', dir: resolve(nameOrPath) };

  const looksLikePath =
    nameOrPath.startsWith('.') || nameOrPath.startsWith('/') || nameOrPath.startsWith('~') ||
    nameOrPath.includes('\\') || nameOrPath.split('/').length > 2 || (sep === '\\' && /^[A-Za-z]:/.test(nameOrPath));
  if (looksLikePath) {
    throw new SemsearchError(
      'MODEL_NOT_FOUND',
      `model folder ${nameOrPath} does not exist; pass an existing folder or a hub name such as ` +
        `'msmarco-distilbert-dot-v5' or 'owner/name'`,
      { file: nameOrPath, field: 'nameOrPath' },
    );
  }

  const parts = nameOrPath.split('/');
  if (!parts.every(validRepoPart)) {
    throw new SemsearchError(
      'INVALID_ARGUMENT',
      `'${nameOrPath}' is not a valid hub model name: use 'name' or 'owner/name' with letters, digits, '-', '_' and '.'`,
      { field: 'nameOrPath' },
    );
  }
  if (parts.length === 1 && !ORIGINAL_TRANSFORMER_MODELS.has(nameOrPath.toLowerCase())) {
    return { kind: 'hub', repoId: `${DEFAULT_ORGANIZATION}/${nameOrPath}` };
  }
  return { kind: 'hub', repoId: nameOrPath };
}

/** A full git commit id; only these can be looked up in snapshots/ without a ref (huggingface_hub REGEX_COMMIT_HASH). */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

export function validateRevision(revision: string): string {
  const bad =
    typeof revision !== 'string' || revision === '' || revision.startsWith('/') || revision.endsWith('/') ||
    revision.split('/').some((seg) => seg === '' || seg === '.' || seg === '..') || /[\0\\]/.test(revision);
  if (bad) {
    throw new SemsearchError(
      'INVALID_ARGUMENT',
      `revision '${String(revision)}' is not a branch, tag or commit id; use e.g. 'main' or a 40-character commit`,
      { field: 'revision' },
    );
  }
  return revision;
}
