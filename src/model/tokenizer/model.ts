/**
 * A tokenizer.json model: turns one pre-tokenized word into ids. WordPiece, BPE and Unigram implement it; the
 * Tokenizer around it owns added tokens, normalizing, pre-tokenizing, truncation and special tokens.
 */
export interface TokenModel {
  readonly vocab: ReadonlyMap<string, number>;
  /** Append the ids of one word (never empty) to `out`. */
  encodeWord(word: string, out: number[]): void;
}

const UTF8 = new TextEncoder();

/** The `<0xAB>` tokens SentencePiece-style byte fallback uses for each UTF-8 byte of `s`; null if one is missing. */
export function byteFallbackIds(vocab: ReadonlyMap<string, number>, s: string): number[] | null {
  const ids: number[] = [];
  for (const b of UTF8.encode(s)) {
    const id = vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    if (id === undefined) return null;
    ids.push(id);
  }
  return ids;
}
