/** Greedy longest-match-first subword split, the WordPiece model of BERT-family tokenizers. */
export class WordPiece {
  readonly vocab: ReadonlyMap<string, number>;
  readonly unkId: number;
  readonly prefix: string;
  readonly maxInputCharsPerWord: number;
  // Longest vocabulary entry in UTF-16 units bounds the first guess, so long words skip hopeless lookups.
  private readonly maxTokenLength: number;

  constructor(vocab: ReadonlyMap<string, number>, unkToken: string, prefix = '##', maxInputCharsPerWord = 100) {
    this.vocab = vocab;
    const unk = vocab.get(unkToken);
    this.unkId = unk ?? 0;
    this.prefix = prefix;
    this.maxInputCharsPerWord = maxInputCharsPerWord;
    let longest = 0;
    for (const k of vocab.keys()) if (k.length > longest) longest = k.length;
    this.maxTokenLength = longest;
  }

  /** Append the ids of one word to `out`. */
  encodeWord(word: string, out: number[]): void {
    if (word.length <= this.maxInputCharsPerWord) {
      const direct = this.vocab.get(word);
      if (direct !== undefined) {
        out.push(direct);
        return;
      }
    }
    // Code point boundaries in UTF-16 units: a piece never splits a surrogate pair.
    const bounds: number[] = [0];
    for (const ch of word) bounds.push((bounds[bounds.length - 1] as number) + ch.length);
    const nChars = bounds.length - 1;
    if (nChars > this.maxInputCharsPerWord) {
      out.push(this.unkId);
      return;
    }
    const mark = out.length;
    let startIdx = 0;
    while (startIdx < nChars) {
      const start = bounds[startIdx] as number;
      const extra = start > 0 ? this.prefix.length : 0;
      let endIdx = nChars;
      while (endIdx > startIdx && (bounds[endIdx] as number) - start + extra > this.maxTokenLength) endIdx--;
      let found = -1;
      while (endIdx > startIdx) {
        const piece = word.slice(start, bounds[endIdx]);
        const id = this.vocab.get(start > 0 ? this.prefix + piece : piece);
        if (id !== undefined) {
          found = id;
          break;
        }
        endIdx--;
      }
      if (found < 0) {
        out.length = mark;
        out.push(this.unkId);
        return;
      }
      out.push(found);
      startIdx = endIdx;
    }
  }
}
