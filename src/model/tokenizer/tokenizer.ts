import { SemsearchError } from '../../errors.js';
import { AddedTokenMatcher, type AddedToken } from './added-tokens.js';
import { bertNormalizer, type Normalizer } from './normalizer.js';
import { bertPreTokenize, type PreTokenizer } from './pre-tokenizer.js';
import { PLAIN_PAIR, type PairPiece, type SingleTemplate } from './post-processor.js';
import type { TokenModel } from './model.js';

/** A padded batch, laid out as ONNX Runtime wants it (int64, row-major batch × seqLen). */
export interface TokenizedBatch {
  batchSize: number;
  seqLen: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
  /** Number of real (unpadded) tokens per row. */
  lengths: Int32Array;
}

export interface TokenizerParts {
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizer | null;
  model: TokenModel;
  template: SingleTemplate;
  /** The post-processor's pair layout (default: the two sequences, the second of type 1). */
  pair?: readonly PairPiece[];
  addedTokens: AddedToken[];
  padId: number;
  /**
   * Whether a long text may be tokenized in pieces cut after ASCII whitespace (see pieceEnd): true only for
   * pipelines where such a cut provably changes nothing (WordPiece behind a whitespace-splitting pre-tokenizer and
   * per-character normalizers). Byte-level and Metaspace pipelines carry the space into the next word, and
   * Strip/Prepend/Replace act on whole segments, so they are always tokenized whole.
   */
  pieceCuts?: boolean;
}

/** One encoded pair: token ids with special tokens, and the token type of each. */
export interface EncodedPair {
  ids: number[];
  typeIds: number[];
}

/**
 * How many tokens of two sequences of n1 and n2 tokens survive `longest_first` truncation to `room` tokens, as the
 * Rust tokenizers compute it: the shorter keeps all it has when the longer can take the rest; otherwise both get half,
 * the longer one the odd token.
 */
export function longestFirst(n1: number, n2: number, room: number): [number, number] {
  if (n1 + n2 <= room) return [n1, n2];
  const swap = n1 > n2;
  let short = swap ? n2 : n1;
  let long = short > room ? short : Math.max(short, room - short);
  if (short + long > room) {
    short = Math.floor(room / 2);
    long = short + (room % 2);
  }
  return swap ? [long, short] : [short, long];
}

/** Characters per piece when a long text is tokenized only as far as truncation needs. */
const PIECE_CHARS = 4096;
// ASCII whitespace only: every supported normalizer keeps it a separator (other \s characters, such as U+FEFF, are
// removed by BERT's cleaning and would join the words on both sides).
const WHITESPACE = /[ \t\n\r]/;

/**
 * Where the piece starting at `start` ends: just after the last whitespace character of the next PIECE_CHARS (the
 * pre-tokenizer splits there anyway, and the normalizer works character by character). A run with no whitespace
 * at all is taken whole up to the next whitespace, so no word is ever cut.
 */
function pieceEnd(text: string, start: number): number {
  const limit = start + PIECE_CHARS;
  if (limit >= text.length) return text.length;
  for (let i = limit; i > start; i--) if (WHITESPACE.test(text[i - 1] as string)) return i;
  for (let i = limit; i < text.length; i++) if (WHITESPACE.test(text[i] as string)) return i + 1;
  return text.length;
}

/**
 * A tokenizer that reproduces the Rust `tokenizers` pipeline: added tokens, normalizer, pre-tokenizer, model
 * (WordPiece, BPE or Unigram), truncation, then the special tokens of the post-processor.
 */
export class Tokenizer {
  readonly padId: number;
  readonly template: SingleTemplate;
  readonly pairTemplate: readonly PairPiece[];
  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer;
  private readonly model: TokenModel;
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly splitsWords: boolean;

  constructor(parts: TokenizerParts) {
    this.normalizer = parts.normalizer;
    this.preTokenizer = parts.preTokenizer ?? ((t: string) => [t]);
    this.splitsWords = parts.preTokenizer !== null && parts.pieceCuts === true;
    this.model = parts.model;
    this.template = parts.template;
    this.pairTemplate = parts.pair ?? PLAIN_PAIR;
    this.padId = parts.padId;
    this.rawMatcher = new AddedTokenMatcher(parts.addedTokens.filter((t) => !t.normalized));
    // A normalized added token is looked for in normalized text by its own normalized form, as Rust does.
    const norm = this.normalizer;
    this.normalizedMatcher = new AddedTokenMatcher(
      parts.addedTokens.filter((t) => t.normalized).map((t) => (norm === null ? t : { ...t, content: norm(t.content) })),
    );
  }

  get vocab(): ReadonlyMap<string, number> {
    return this.model.vocab;
  }

  /** Number of special tokens the post-processor adds to one sequence. */
  get numSpecialTokens(): number {
    return this.template.prefix.length + this.template.suffix.length;
  }

  /** Number of special tokens the post-processor adds to a pair. */
  get numPairSpecialTokens(): number {
    let n = 0;
    for (const p of this.pairTemplate) if ('special' in p) n += p.special.length;
    return n;
  }

  /**
   * Token ids of one text without special tokens. With `limit`, it may stop once it has that many (the caller
   * truncates): a long text is read in pieces cut after whitespace, where no token, added token or combining
   * sequence can span the cut, so a 10 MB passage costs what its first few pieces cost, with the same ids.
   */
  tokenize(text: string, limit?: number): number[] {
    // Without a pre-tokenizer the whole text is one word, and other pipelines may join across a cut: nothing is cut.
    if (limit === undefined || text.length <= PIECE_CHARS || !this.splitsWords) return this.tokenizePiece(text, []);
    const ids: number[] = [];
    let start = 0;
    while (start < text.length && ids.length < limit) {
      const end = pieceEnd(text, start);
      this.tokenizePiece(text.slice(start, end), ids);
      start = end;
    }
    return ids;
  }

  private tokenizePiece(text: string, ids: number[]): number[] {
    this.rawMatcher.split(text).forEach((seg, i) => {
      if ('id' in seg) {
        ids.push(seg.id);
        return;
      }
      const normalized = this.normalizer === null ? seg.text : this.normalizer(seg.text);
      this.normalizedMatcher.split(normalized).forEach((part, j) => {
        if ('id' in part) {
          ids.push(part.id);
          return;
        }
        for (const word of this.preTokenizer(part.text, i === 0 && j === 0)) if (word.length > 0) this.model.encodeWord(word, ids);
      });
    });
    return ids;
  }

  /** Token ids with special tokens, truncated from the right so the total is at most `maxLength`. */
  encode(text: string, maxLength?: number): number[] {
    if (typeof text !== 'string') {
      throw new SemsearchError('INVALID_ARGUMENT', `tokenizer input must be a string, got ${typeof text}`, { field: 'text' });
    }
    const room = maxLength === undefined ? undefined : Math.max(0, maxLength - this.numSpecialTokens);
    let ids = this.tokenize(text, room);
    if (room !== undefined && ids.length > room) ids = ids.slice(0, room);
    return [...this.template.prefix, ...ids, ...this.template.suffix];
  }

  /**
   * A pair with special tokens and token types, as `tokenizer(a, b, truncation='longest_first', max_length=…)` gives
   * it: tokens are cut from the end of the longer sequence first (see longestFirst) so the whole fits `maxLength`.
   */
  encodePair(a: string, b: string, maxLength?: number): EncodedPair {
    if (typeof a !== 'string' || typeof b !== 'string') {
      throw new SemsearchError('INVALID_ARGUMENT', `a pair must be two strings, got ${typeof a} and ${typeof b}`, { field: 'pair' });
    }
    const room = maxLength === undefined ? undefined : Math.max(0, maxLength - this.numPairSpecialTokens);
    let ta = this.tokenize(a, room);
    let tb = this.tokenize(b, room);
    // Both at least `room` long and an odd room: the odd token goes to the truly longer one, so count them whole.
    if (room !== undefined && room % 2 === 1 && ta.length >= room && tb.length >= room) {
      ta = this.tokenize(a);
      tb = this.tokenize(b);
    }
    if (room !== undefined) {
      const [na, nb] = longestFirst(ta.length, tb.length, room);
      ta = ta.slice(0, na);
      tb = tb.slice(0, nb);
    }
    const ids: number[] = [];
    const typeIds: number[] = [];
    for (const piece of this.pairTemplate) {
      const part = 'special' in piece ? piece.special : piece.sequence === 'A' ? ta : tb;
      for (const id of part) {
        ids.push(id);
        typeIds.push(piece.typeId);
      }
    }
    return { ids, typeIds };
  }

  /** Encode pairs and pad them into one batch, with their token types. */
  encodePairBatch(pairs: readonly (readonly [string, string])[], maxLength?: number): TokenizedBatch {
    const encoded = pairs.map(([a, b]) => this.encodePair(a, b, maxLength));
    return this.pad(
      encoded.map((e) => e.ids),
      encoded.map((e) => e.typeIds),
    );
  }

  /** Encode and pad to the longest member, as `tokenizer(texts, padding=True, truncation=True)` does. */
  encodeBatch(texts: readonly string[], maxLength?: number): TokenizedBatch {
    const all = texts.map((t) => this.encode(t, maxLength));
    return this.pad(all);
  }

  /** Pad token id sequences (each already with special tokens and truncated) into one batch; type ids default to 0. */
  pad(all: readonly ArrayLike<number>[], typeIds?: readonly ArrayLike<number>[]): TokenizedBatch {
    const batchSize = all.length;
    let seqLen = 0;
    for (const ids of all) if (ids.length > seqLen) seqLen = ids.length;
    const inputIds = new BigInt64Array(batchSize * seqLen).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(batchSize * seqLen);
    const tokenTypeIds = new BigInt64Array(batchSize * seqLen);
    const lengths = new Int32Array(batchSize);
    all.forEach((ids, r) => {
      lengths[r] = ids.length;
      const base = r * seqLen;
      const types = typeIds?.[r];
      for (let c = 0; c < ids.length; c++) {
        inputIds[base + c] = BigInt(ids[c] as number);
        attentionMask[base + c] = 1n;
        if (types !== undefined) tokenTypeIds[base + c] = BigInt(types[c] as number);
      }
    });
    return { batchSize, seqLen, inputIds, attentionMask, tokenTypeIds, lengths };
  }
}

export { bertNormalizer, bertPreTokenize };
