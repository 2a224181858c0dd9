/**
 * Bounded selection of the k best (score, row) pairs: a binary min-heap on flat typed arrays, so scanning
 * millions of rows allocates nothing. Equal scores keep the lower row, the order semanticSearch gives when
 * the corpus is one chunk and scores do not tie.
 */
export class TopK {
  readonly k: number;
  size = 0;
  readonly scores: Float64Array;
  readonly rows: Float64Array;

  constructor(k: number) {
    this.k = k;
    this.scores = new Float64Array(k);
    this.rows = new Float64Array(k);
  }

  /** True when (s, r) ranks below (s2, r2): lower score, or same score and higher row. */
  private worse(s: number, r: number, s2: number, r2: number): boolean {
    return s < s2 || (s === s2 && r > r2);
  }

  /** The score a candidate must beat to enter (−∞ until full). */
  get threshold(): number {
    return this.size < this.k ? Number.NEGATIVE_INFINITY : (this.scores[0] as number);
  }

  push(score: number, row: number): void {
    const { scores, rows } = this;
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(score, row, scores[p] as number, rows[p] as number)) break;
        scores[i] = scores[p] as number;
        rows[i] = rows[p] as number;
        i = p;
      }
      scores[i] = score;
      rows[i] = row;
      return;
    }
    if (!this.worse(scores[0] as number, rows[0] as number, score, row)) return;
    let i = 0;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.worse(scores[r] as number, rows[r] as number, scores[l] as number, rows[l] as number) ? r : l;
      if (!this.worse(scores[c] as number, rows[c] as number, score, row)) break;
      scores[i] = scores[c] as number;
      rows[i] = rows[c] as number;
      i = c;
    }
    scores[i] = score;
    rows[i] = row;
  }

  /** Best first. */
  sorted(): { row: number; score: number }[] {
    const out: { row: number; score: number }[] = [];
    for (let i = 0; i < this.size; i++) out.push({ row: this.rows[i] as number, score: this.scores[i] as number });
    return out.sort((a, b) => b.score - a.score || a.row - b.row);
  }
}
