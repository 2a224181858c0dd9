import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SemsearchError } from '../../errors.js';
import type { AddedToken } from './added-tokens.js';
import { bertNormalizer, lowercaseChars, normalizerFromJson, type Normalizer } from './normalizer.js';
import { bertPreTokenize, preTokenizerFromJson } from './pre-tokenizer.js';
import { bertPair, pairTemplateFromJson, postProcessorFromJson, robertaPair } from './post-processor.js';
import { Tokenizer } from './tokenizer.js';
import { WordPiece } from './wordpiece.js';

import { readJsonObject as readJson, type JsonObject as Json } from '../json-file.js';

/** A special token in tokenizer_config.json is either a string or an AddedToken-shaped object. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as Json)['content'] === 'string') return (v as Json)['content'] as string;
  return undefined;
}

function hasLowercase(spec: unknown): boolean {
  if (spec === null || typeof spec !== 'object') return false;
  const j = spec as Json;
  if (j['type'] === 'Lowercase') return true;
  if (j['type'] === 'BertNormalizer') return j['lowercase'] !== false;
  if (j['type'] === 'Sequence') return ((j['normalizers'] as unknown[]) ?? []).some(hasLowercase);
  return false;
}

export interface LoadTokenizerOptions {
  /** sentence_bert_config.json's do_lower_case: sentence-transformers puts a Lowercase step in front. */
  doLowerCase?: boolean;
}

function lowercaseFirst(n: Normalizer | null): Normalizer {
  return (t: string) => (n === null ? lowercaseChars(t) : n(lowercaseChars(t)));
}

function fromTokenizerJson(file: string, config: Json, options: LoadTokenizerOptions): Tokenizer {
  const j = readJson(file);
  const model = j['model'] as Json | undefined;
  if (model === undefined || model['type'] !== 'WordPiece') {
    throw new SemsearchError('TOKENIZER_INVALID', `${file}: model.type must be "WordPiece", got ${JSON.stringify(model?.['type'])}`, {
      file,
      field: 'model.type',
    });
  }
  const vocabObj = model['vocab'] as Record<string, number> | undefined;
  if (vocabObj === undefined || typeof vocabObj !== 'object') {
    throw new SemsearchError('TOKENIZER_INVALID', `${file}: model.vocab is missing`, { file, field: 'model.vocab' });
  }
  const vocab = new Map<string, number>(Object.entries(vocabObj));
  const unk = typeof model['unk_token'] === 'string' ? (model['unk_token'] as string) : '[UNK]';
  const wp = new WordPiece(
    vocab,
    unk,
    typeof model['continuing_subword_prefix'] === 'string' ? (model['continuing_subword_prefix'] as string) : '##',
    typeof model['max_input_chars_per_word'] === 'number' ? (model['max_input_chars_per_word'] as number) : 100,
  );
  const added: AddedToken[] = ((j['added_tokens'] as Json[] | undefined) ?? []).map((t) => ({
    id: t['id'] as number,
    content: t['content'] as string,
    singleWord: t['single_word'] === true,
    lstrip: t['lstrip'] === true,
    rstrip: t['rstrip'] === true,
    normalized: t['normalized'] === true,
    special: t['special'] === true,
  }));
  let normalizer = normalizerFromJson(j['normalizer'], file);
  if (options.doLowerCase === true && !hasLowercase(j['normalizer'])) normalizer = lowercaseFirst(normalizer);
  const padding = j['padding'] as Json | null | undefined;
  const padToken = tokenContent(config['pad_token']);
  const padId =
    (padToken !== undefined ? vocab.get(padToken) ?? added.find((t) => t.content === padToken)?.id : undefined) ??
    (typeof padding?.['pad_id'] === 'number' ? (padding['pad_id'] as number) : 0);
  return new Tokenizer({
    normalizer,
    preTokenizer: preTokenizerFromJson(j['pre_tokenizer'], file),
    model: wp,
    template: postProcessorFromJson(j['post_processor'], file),
    pair: pairTemplateFromJson(j['post_processor'], file),
    addedTokens: added,
    padId,
  });
}

/** transformers' slow-to-fast conversion for BERT/DistilBERT/MPNet when only vocab.txt is shipped. */
function fromVocabTxt(file: string, config: Json, modelType: string, options: LoadTokenizerOptions): Tokenizer {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((tok, i) => vocab.set(tok, i));
  const isMpnet = modelType === 'mpnet';
  const pick = (key: string, dflt: string): string => tokenContent(config[key]) ?? dflt;
  const cls = pick('cls_token', isMpnet ? '<s>' : '[CLS]');
  const sep = pick('sep_token', isMpnet ? '</s>' : '[SEP]');
  const unk = pick('unk_token', '[UNK]');
  const pad = pick('pad_token', isMpnet ? '<pad>' : '[PAD]');
  const mask = pick('mask_token', isMpnet ? '<mask>' : '[MASK]');
  const idOf = (tok: string): number => {
    const id = vocab.get(tok);
    if (id === undefined) {
      throw new SemsearchError('TOKENIZER_INVALID', `${file}: special token ${JSON.stringify(tok)} is not in the vocabulary`, { file });
    }
    return id;
  };
  const lower = config['do_lower_case'] !== false;
  // transformers records every added token with its matching flags in added_tokens_decoder; older
  // folders only name the special tokens, which are matched verbatim (MPNet's mask also eats the space before it).
  const decoder = config['added_tokens_decoder'] as Record<string, Json> | undefined;
  const added: AddedToken[] =
    decoder !== undefined && typeof decoder === 'object'
      ? Object.entries(decoder).map(([id, t]) => ({
          id: Number(id),
          content: String(t['content']),
          singleWord: t['single_word'] === true,
          lstrip: t['lstrip'] === true,
          rstrip: t['rstrip'] === true,
          normalized: t['normalized'] === true,
          special: t['special'] === true,
        }))
      : [...new Set([pad, unk, cls, sep, mask])]
          .filter((t) => vocab.has(t))
          .map((t) => ({ id: idOf(t), content: t, singleWord: false, lstrip: isMpnet && t === mask, rstrip: false, normalized: false, special: true }));
  let normalizer: Normalizer = bertNormalizer({
    cleanText: true,
    handleChineseChars: config['tokenize_chinese_chars'] !== false,
    stripAccents: typeof config['strip_accents'] === 'boolean' ? (config['strip_accents'] as boolean) : null,
    lowercase: lower,
  });
  if (options.doLowerCase === true && !lower) normalizer = lowercaseFirst(normalizer);
  return new Tokenizer({
    normalizer,
    preTokenizer: bertPreTokenize,
    model: new WordPiece(vocab, unk, '##', 100),
    template: { prefix: [idOf(cls)], suffix: [idOf(sep)] },
    pair: isMpnet ? robertaPair(idOf(cls), idOf(sep)) : bertPair(idOf(cls), idOf(sep)),
    addedTokens: added,
    padId: idOf(pad),
  });
}

/**
 * The tokenizer of a model folder: tokenizer.json when present (what transformers' fast tokenizer
 * uses), else vocab.txt with tokenizer_config.json.
 */
export function loadTokenizer(dir: string, modelType: string, options: LoadTokenizerOptions = {}): Tokenizer {
  const configFile = join(dir, 'tokenizer_config.json');
  const config = existsSync(configFile) ? readJson(configFile) : {};
  const specialMapFile = join(dir, 'special_tokens_map.json');
  if (existsSync(specialMapFile)) {
    const m = readJson(specialMapFile);
    for (const [k, v] of Object.entries(m)) if (config[k] === undefined) config[k] = v;
  }
  const tokJson = join(dir, 'tokenizer.json');
  if (existsSync(tokJson)) return fromTokenizerJson(tokJson, config, options);
  const vocabTxt = join(dir, 'vocab.txt');
  if (existsSync(vocabTxt)) return fromVocabTxt(vocabTxt, config, modelType, options);
  throw new SemsearchError('CONFIG_MISSING', `${dir} has neither tokenizer.json nor vocab.txt`, { file: tokJson });
}
