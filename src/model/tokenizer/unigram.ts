import { SemsearchError } from '../../errors.js';
import { byteFallbackIds, type TokenModel } from './model.js';

/** What SentencePiece (and the Rust port) charges an unknown character below the lowest piece score. */
const UNK_PENALTY = 10;

interface TrieNode {
  children: Map<number, TrieNode>;
  /** Vocabulary id of the piece ending here, -1 if none. */
  id: number;
}

/**
 * SentencePiece's Unigram model as the Rust `tokenizers` library encodes with it (its optimized Viterbi pass):
 * the best-scoring segmentation into vocabulary pieces, each unknown character scored `min score - 10`, runs of
 * unknown characters fused into one unk token (or spelled as `<0x..>` bytes with byte_fallback).
 */
export class Unigram implements TokenModel {
  readonly vocab: ReadonlyMap<string, number>;
  private readonly scores: Float64Array;
  private readonly root: TrieNode = { children: new Map(), id: -1 };
  private readonly unkId: number | null;
  private readonly unkScore: number;
  private readonly byteFallback: boolean;
  private readonly cache = new Map<string, number[]>();

  constructor(pieces: readonly (readonly [string, number])[], unkId: number | null, byteFallback: boolean) {
    const vocab = new Map<string, number>();
    this.scores = new Float64Array(pieces.length);
    let min = Infinity;
    pieces.forEach(([piece, score], id) => {
      // A later duplicate wins the lookup, as inserting into the Rust map does.
      vocab.set(piece, id);
      this.scores[id] = score;
      if (score < min) min = score;
    });
    for (const [piece, id] of vocab) {
      let node = this.root;
      for (let i = 0; i < piece.length; i++) {
        const u = piece.charCodeAt(i);
        let child = node.children.get(u);
        if (child === undefined) {
          child = { children: new Map(), id: -1 };
          node.children.set(u, child);
        }
        node = child;
      }
      if (piece.length > 0) node.id = id;
    }
    this.vocab = vocab;
    this.unkId = unkId;
    this.unkScore = min - UNK_PENALTY;
    this.byteFallback = byteFallback;
  }

  encodeWord(word: string, out: number[]): void {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = this.viterbi(word);
      if (word.length < 256) {
        if (this.cache.size >= 10_000) this.cache.clear();
        this.cache.set(word, ids);
      }
    }
    for (const id of ids) out.push(id);
  }

  private viterbi(s: string): number[] {
    const n = s.length;
    // Positions are UTF-16 offsets; pieces are whole strings, so a piece is a prefix in bytes exactly when it is
    // one in UTF-16 units, and the prefixes come shortest first either way (ties keep the first, as in Rust).
    const score = new Float64Array(n + 1);
    const from = new Int32Array(n + 1).fill(-1);
    const idAt = new Int32Array(n + 1);
    let start = 0;
    while (start < n) {
      const here = score[start] as number;
      const cp = s.codePointAt(start) as number;
      const charLen = cp > 0xffff ? 2 : 1;
      let single = false;
      let node: TrieNode | undefined = this.root;
      for (let i = start; i < n; i++) {
        node = node.children.get(s.charCodeAt(i));
        if (node === undefined) break;
        if (node.id < 0) continue;
        const end = i + 1;
        const cand = (this.scores[node.id] as number) + here;
        if (from[end] === -1 || cand > (score[end] as number)) {
          score[end] = cand;
          from[end] = start;
          idAt[end] = node.id;
        }
        if (end - start === charLen) single = true;
      }
      if (!single) {
        const end = start + charLen;
        const cand = this.unkScore + here;
        if (from[end] === -1 || cand > (score[end] as number)) {
          if (this.unkId === null) {
            throw new SemsearchError('TOKENIZER_INVALID', `Unigram model has no unk_id and cannot encode ${JSON.stringify(s.slice(start, end))}`, {
              field: 'model.unk_id',
            });
          }
          score[end] = cand;
          from[end] = start;
          idAt[end] = this.unkId;
        }
      }
      start += charLen;
    }
    // Walk back; consecutive unk nodes fuse into one token.
    const pieces: { text: string; id: number }[] = [];
    let end = n;
    let unkEnd = -1;
    while (end > 0) {
      const begin = from[end] as number;
      const id = idAt[end] as number;
      if (id === this.unkId) {
        if (unkEnd < 0) unkEnd = end;
      } else {
        if (unkEnd >= 0) pieces.push({ text: s.slice(end, unkEnd), id: -1 });
        unkEnd = -1;
        pieces.push({ text: s.slice(begin, end), id });
      }
      end = begin;
    }
    if (unkEnd >= 0) pieces.push({ text: s.slice(0, unkEnd), id: -1 });
    pieces.reverse();
    const ids: number[] = [];
    for (const p of pieces) {
      // Rust looks every piece's string up again: a fused unk run spelling a real piece gets that piece's id.
      const id = this.vocab.get(p.text);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      if (this.byteFallback) {
        const bytes = byteFallbackIds(this.vocab, p.text);
        if (bytes !== null) {
          ids.push(...bytes);
          continue;
        }
      }
      ids.push(this.unkId as number);
    }
    return ids;
  }
}
