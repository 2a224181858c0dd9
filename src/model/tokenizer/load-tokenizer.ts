import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SemsearchError } from '../../errors.js';
import type { AddedToken } from './added-tokens.js';
import { bertNormalizer, lowercaseChars, normalizerFromJson, type Normalizer } from './normalizer.js';
import { bertPreTokenize, preTokenizerFromJson } from './pre-tokenizer.js';
import { bertPair, pairTemplateFromJson, postProcessorFromJson, robertaPair } from './post-processor.js';
import { Tokenizer } from './tokenizer.js';
import { WordPiece } from './wordpiece.js';
import { Bpe } from './bpe.js';
import { Unigram } from './unigram.js';
import type { TokenModel } from './model.js';

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

const PIECE_SAFE_NORMALIZERS = new Set(['BertNormalizer', 'Lowercase', 'StripAccents', 'NFD', 'NFC', 'NFKD', 'NFKC', 'Strip', 'Sequence']);
const PIECE_SAFE_PRE_TOKENIZERS = new Set(['BertPreTokenizer', 'WhitespaceSplit', 'Whitespace', 'Sequence']);

/** Every step of a normalizer/pre-tokenizer spec (Sequence included) is of a kind in `safe`. */
function allOf(spec: unknown, safe: ReadonlySet<string>, listKey: string): boolean {
  if (spec === null || spec === undefined) return true;
  const j = spec as Json;
  if (typeof j['type'] !== 'string' || !safe.has(j['type'])) return false;
  return j['type'] !== 'Sequence' || ((j[listKey] as unknown[] | undefined) ?? []).every((p) => allOf(p, safe, listKey));
}

function invalid(file: string, field: string, why: string): SemsearchError {
  return new SemsearchError('TOKENIZER_INVALID', `${file}: ${field} ${why}`, { file, field });
}

function optionalString(model: Json, key: string, file: string): string | null {
  const v = model[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(file, `model.${key}`, `must be a string or null, got ${JSON.stringify(v)}`);
  return v;
}

function wordPieceModel(model: Json, file: string): WordPiece {
  const vocabObj = model['vocab'] as Record<string, number> | undefined;
  if (vocabObj === undefined || vocabObj === null || typeof vocabObj !== 'object' || Array.isArray(vocabObj)) {
    throw new SemsearchError('TOKENIZER_INVALID', `${file}: model.vocab is missing`, { file, field: 'model.vocab' });
  }
  const vocab = new Map<string, number>(Object.entries(vocabObj));
  const unk = typeof model['unk_token'] === 'string' ? (model['unk_token'] as string) : '[UNK]';
  return new WordPiece(
    vocab,
    unk,
    typeof model['continuing_subword_prefix'] === 'string' ? (model['continuing_subword_prefix'] as string) : '##',
    typeof model['max_input_chars_per_word'] === 'number' ? (model['max_input_chars_per_word'] as number) : 100,
  );
}

function bpeModel(model: Json, file: string): Bpe {
  const vocabObj = model['vocab'];
  if (vocabObj === null || typeof vocabObj !== 'object' || Array.isArray(vocabObj)) throw invalid(file, 'model.vocab', 'must be an object of token ids');
  const vocab = new Map<string, number>();
  for (const [k, v] of Object.entries(vocabObj as Record<string, unknown>)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalid(file, 'model.vocab', `gives ${JSON.stringify(k)} the id ${JSON.stringify(v)}`);
    vocab.set(k, v);
  }
  const dropout = model['dropout'];
  // Dropout samples merges at random: the ids would not be reproducible.
  if (dropout !== undefined && dropout !== null && dropout !== 0) throw invalid(file, 'model.dropout', `must be null or 0, got ${JSON.stringify(dropout)}`);
  const list = model['merges'];
  if (!Array.isArray(list)) throw invalid(file, 'model.merges', 'must be a list');
  const merges = list.map((m: unknown, i): [number, number, number] => {
    let pair: unknown[];
    if (typeof m === 'string') pair = m.split(' ');
    else if (Array.isArray(m)) pair = m;
    else throw invalid(file, `model.merges[${i}]`, 'must be "a b" or ["a", "b"]');
    const [a, b] = pair;
    if (pair.length !== 2 || typeof a !== 'string' || typeof b !== 'string') throw invalid(file, `model.merges[${i}]`, 'must name two tokens');
    const prefixLen = typeof model['continuing_subword_prefix'] === 'string' ? (model['continuing_subword_prefix'] as string).length : 0;
    const ia = vocab.get(a);
    const ib = vocab.get(b);
    if (ia === undefined || ib === undefined) throw invalid(file, `model.merges[${i}]`, `names a token missing from the vocabulary: ${JSON.stringify(ia === undefined ? a : b)}`);
    // The merged token drops b's continuing-subword prefix, as the Rust loader builds it.
    const merged = a + b.slice(prefixLen);
    const id = vocab.get(merged);
    if (id === undefined) throw invalid(file, `model.merges[${i}]`, `makes ${JSON.stringify(merged)}, which is not in the vocabulary`);
    return [ia, ib, id];
  });
  return new Bpe({
    vocab,
    merges,
    unkToken: optionalString(model, 'unk_token', file),
    continuingSubwordPrefix: optionalString(model, 'continuing_subword_prefix', file),
    endOfWordSuffix: optionalString(model, 'end_of_word_suffix', file),
    fuseUnk: model['fuse_unk'] === true,
    byteFallback: model['byte_fallback'] === true,
    ignoreMerges: model['ignore_merges'] === true,
  });
}

function unigramModel(model: Json, file: string): Unigram {
  const list = model['vocab'];
  if (!Array.isArray(list)) throw invalid(file, 'model.vocab', 'must be a list of [piece, score]');
  const pieces = list.map((e: unknown, i): [string, number] => {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') throw invalid(file, `model.vocab[${i}]`, 'must be [piece, score]');
    return [e[0], e[1]];
  });
  const unk = model['unk_id'];
  if (unk !== undefined && unk !== null && (typeof unk !== 'number' || !Number.isInteger(unk) || unk < 0 || unk >= pieces.length)) {
    throw invalid(file, 'model.unk_id', `must be an id in the vocabulary, got ${JSON.stringify(unk)}`);
  }
  return new Unigram(pieces, typeof unk === 'number' ? unk : null, model['byte_fallback'] === true);
}

function fromTokenizerJson(file: string, config: Json, options: LoadTokenizerOptions): Tokenizer {
  const j = readJson(file);
  const model = j['model'] as Json | undefined;
  if (model === undefined || model === null || typeof model !== 'object') throw invalid(file, 'model', 'is missing');
  // The Rust library accepts a model without "type" when its fields say which it is; folders written by it carry one.
  let tokenModel: TokenModel;
  switch (model['type']) {
    case 'WordPiece':
      tokenModel = wordPieceModel(model, file);
      break;
    case 'BPE':
      tokenModel = bpeModel(model, file);
      break;
    case 'Unigram':
      tokenModel = unigramModel(model, file);
      break;
    default:
      throw new SemsearchError(
        'TOKENIZER_INVALID',
        `${file}: model.type must be "WordPiece", "BPE" or "Unigram", got ${JSON.stringify(model['type'])}`,
        { file, field: 'model.type' },
      );
  }
  const vocab = tokenModel.vocab;
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
    model: tokenModel,
    template: postProcessorFromJson(j['post_processor'], file),
    pair: pairTemplateFromJson(j['post_processor'], file),
    addedTokens: added,
    padId,
    pieceCuts:
      model['type'] === 'WordPiece' &&
      allOf(j['normalizer'], PIECE_SAFE_NORMALIZERS, 'normalizers') &&
      allOf(j['pre_tokenizer'], PIECE_SAFE_PRE_TOKENIZERS, 'pretokenizers'),
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
    pieceCuts: true,
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
