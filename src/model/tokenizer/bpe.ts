import { SemsearchError } from '../../errors.js';
import { byteFallbackIds, type TokenModel } from './model.js';

export interface BpeOptions {
  vocab: ReadonlyMap<string, number>;
  /** Merges in rank order, as id pairs with the id of their result. */
  merges: readonly (readonly [number, number, number])[];
  unkToken: string | null;
  continuingSubwordPrefix: string | null;
  endOfWordSuffix: string | null;
  fuseUnk: boolean;
  byteFallback: boolean;
  ignoreMerges: boolean;
}

interface Merge {
  pos: number;
  rank: number;
  newId: number;
}

/** Lowest rank first, then leftmost: the order the Rust heap pops merges in. */
function before(a: Merge, b: Merge): boolean {
  return a.rank !== b.rank ? a.rank < b.rank : a.pos < b.pos;
}

class MergeHeap {
  private readonly items: Merge[] = [];
  get size(): number {
    return this.items.length;
  }
  push(m: Merge): void {
    const h = this.items;
    h.push(m);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i] as Merge, h[p] as Merge)) break;
      [h[i], h[p]] = [h[p] as Merge, h[i] as Merge];
      i = p;
    }
  }
  pop(): Merge {
    const h = this.items;
    const top = h[0] as Merge;
    const last = h.pop() as Merge;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as Merge, h[m] as Merge)) m = l;
        if (r < h.length && before(h[r] as Merge, h[m] as Merge)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Merge, h[i] as Merge];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Byte-pair encoding as the Rust `tokenizers` BPE model applies it (no dropout): each character (with the
 * continuing-subword prefix and end-of-word suffix where set) becomes a symbol, unknown ones byte-fallback or unk
 * (fused when fuse_unk), then merges are applied lowest rank first, leftmost first among equal ranks.
 */
export class Bpe implements TokenModel {
  readonly vocab: ReadonlyMap<string, number>;
  private readonly merges = new Map<number, { rank: number; newId: number }>();
  private readonly unkId: number | null;
  private readonly o: BpeOptions;
  // Words repeat heavily in real text; the Rust model caches too. Bounded so a stream of unique words cannot grow it.
  private readonly cache = new Map<string, number[]>();

  constructor(o: BpeOptions) {
    this.o = o;
    this.vocab = o.vocab;
    this.unkId = o.unkToken === null ? null : o.vocab.get(o.unkToken) ?? null;
    // A later duplicate overwrites an earlier one, as collecting into the Rust HashMap does.
    o.merges.forEach(([a, b, id], rank) => this.merges.set(pairKey(a, b), { rank, newId: id }));
  }

  encodeWord(word: string, out: number[]): void {
    if (this.o.ignoreMerges) {
      const id = this.vocab.get(word);
      if (id !== undefined) {
        out.push(id);
        return;
      }
    }
    const hit = this.cache.get(word);
    if (hit !== undefined) {
      for (const id of hit) out.push(id);
      return;
    }
    const ids = this.mergeWord(word);
    if (word.length < 256) {
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(word, ids);
    }
    for (const id of ids) out.push(id);
  }

  private mergeWord(word: string): number[] {
    const { vocab, o } = this;
    const chars = Array.from(word);
    const syms: number[] = [];
    let unk: number | null = null;
    chars.forEach((ch, i) => {
      let s = ch;
      if (i > 0 && o.continuingSubwordPrefix !== null) s = o.continuingSubwordPrefix + s;
      if (i === chars.length - 1 && o.endOfWordSuffix !== null) s = s + o.endOfWordSuffix;
      const id = vocab.get(s);
      if (id !== undefined) {
        if (unk !== null) syms.push(unk);
        unk = null;
        syms.push(id);
        return;
      }
      if (o.byteFallback) {
        const bytes = byteFallbackIds(vocab, s);
        if (bytes !== null) {
          // A pending unk stays pending across byte tokens, as in Rust.
          syms.push(...bytes);
          return;
        }
      }
      if (o.unkToken === null) return;
      if (this.unkId === null) {
        throw new SemsearchError('TOKENIZER_INVALID', `BPE unk_token ${JSON.stringify(o.unkToken)} is not in the vocabulary`, { field: 'model.unk_token' });
      }
      if (unk !== null && !o.fuseUnk) syms.push(unk);
      if (unk === null || !o.fuseUnk) unk = this.unkId;
    });
    if (unk !== null) syms.push(unk);
    return this.mergeAll(syms);
  }

  private mergeAll(c: number[]): number[] {
    const n = c.length;
    if (n < 2) return c;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new MergeHeap();
    for (let i = 0; i + 1 < n; i++) {
      const m = this.merges.get(pairKey(c[i] as number, c[i + 1] as number));
      if (m !== undefined) heap.push({ pos: i, rank: m.rank, newId: m.newId });
    }
    while (heap.size > 0) {
      const top = heap.pop();
      const pos = top.pos;
      if (alive[pos] === 0) continue;
      const right = next[pos] as number;
      if (right === -1) continue;
      const m = this.merges.get(pairKey(c[pos] as number, c[right] as number));
      if (m === undefined || m.newId !== top.newId) continue;
      c[pos] = top.newId;
      alive[right] = 0;
      const after = next[right] as number;
      next[pos] = after;
      if (after !== -1) prev[after] = pos;
      const p = prev[pos] as number;
      if (p >= 0) {
        const pm = this.merges.get(pairKey(c[p] as number, c[pos] as number));
        if (pm !== undefined) heap.push({ pos: p, rank: pm.rank, newId: pm.newId });
      }
      if (after !== -1) {
        const nm = this.merges.get(pairKey(c[pos] as number, c[after] as number));
        if (nm !== undefined) heap.push({ pos, rank: nm.rank, newId: nm.newId });
      }
    }
    const ids: number[] = [];
    for (let i = 0; i < n; i++) if (alive[i] === 1) ids.push(c[i] as number);
    return ids;
  }
}

function pairKey(a: number, b: number): number {
  // Ids stay below 2^26 for any real vocabulary, so the pair fits a double exactly.
  return a * 67_108_864 + b;
}
