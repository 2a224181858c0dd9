/**
 * torch.topk(largest=True, sorted=False) on one row, reproducing the order PyTorch's CPU kernel returns.
 *
 * Why: sentence-transformers' semantic_search feeds topk's output, in topk's order, into a heap, and that
 * order decides which of several equal scores survive and in what order they come back. PyTorch runs
 * libstdc++'s std::nth_element (or std::partial_sort when k·64 ≤ n) over (value, index) pairs, so the
 * same deterministic algorithms are ported here, step for step.
 */

// Larger-is-first comparator of the kernel, NaN counted as the largest value (numpy's convention).
function before(values: Float64Array, x: number, y: number): boolean {
  const a = values[x] as number;
  const b = values[y] as number;
  return (Number.isNaN(a) && !Number.isNaN(b)) || a > b;
}

function swap(q: Int32Array, i: number, j: number): void {
  const t = q[i] as number;
  q[i] = q[j] as number;
  q[j] = t;
}

function moveMedianToFirst(q: Int32Array, v: Float64Array, result: number, a: number, b: number, c: number): void {
  const A = q[a] as number;
  const B = q[b] as number;
  const C = q[c] as number;
  if (before(v, A, B)) {
    if (before(v, B, C)) swap(q, result, b);
    else if (before(v, A, C)) swap(q, result, c);
    else swap(q, result, a);
  } else if (before(v, A, C)) swap(q, result, a);
  else if (before(v, B, C)) swap(q, result, c);
  else swap(q, result, b);
}

function unguardedPartition(q: Int32Array, v: Float64Array, first: number, last: number, pivot: number): number {
  for (;;) {
    while (before(v, q[first] as number, q[pivot] as number)) first++;
    last--;
    while (before(v, q[pivot] as number, q[last] as number)) last--;
    if (!(first < last)) return first;
    swap(q, first, last);
    first++;
  }
}

function insertionSort(q: Int32Array, v: Float64Array, first: number, last: number): void {
  if (first === last) return;
  for (let i = first + 1; i < last; i++) {
    const val = q[i] as number;
    if (before(v, val, q[first] as number)) {
      q.copyWithin(first + 1, first, i);
      q[first] = val;
    } else {
      let hole = i;
      let next = i - 1;
      while (before(v, val, q[next] as number)) {
        q[hole] = q[next] as number;
        hole = next;
        next--;
      }
      q[hole] = val;
    }
  }
}

// libstdc++ heap primitives over q[first, first+len) with the same comparator.
function adjustHeap(q: Int32Array, v: Float64Array, first: number, holeIndex: number, len: number, value: number): void {
  const top = holeIndex;
  let second = holeIndex;
  while (second < Math.floor((len - 1) / 2)) {
    second = 2 * (second + 1);
    if (before(v, q[first + second] as number, q[first + second - 1] as number)) second--;
    q[first + holeIndex] = q[first + second] as number;
    holeIndex = second;
  }
  if ((len & 1) === 0 && second === Math.floor((len - 2) / 2)) {
    second = 2 * (second + 1);
    q[first + holeIndex] = q[first + second - 1] as number;
    holeIndex = second - 1;
  }
  let parent = Math.floor((holeIndex - 1) / 2);
  while (holeIndex > top && before(v, q[first + parent] as number, value)) {
    q[first + holeIndex] = q[first + parent] as number;
    holeIndex = parent;
    parent = Math.floor((holeIndex - 1) / 2);
  }
  q[first + holeIndex] = value;
}

function makeHeap(q: Int32Array, v: Float64Array, first: number, last: number): void {
  const len = last - first;
  if (len < 2) return;
  for (let parent = Math.floor((len - 2) / 2); ; parent--) {
    adjustHeap(q, v, first, parent, len, q[first + parent] as number);
    if (parent === 0) return;
  }
}

function popHeap(q: Int32Array, v: Float64Array, first: number, last: number, result: number): void {
  const value = q[result] as number;
  q[result] = q[first] as number;
  adjustHeap(q, v, first, 0, last - first, value);
}

function heapSelect(q: Int32Array, v: Float64Array, first: number, middle: number, last: number): void {
  makeHeap(q, v, first, middle);
  for (let i = middle; i < last; i++) if (before(v, q[i] as number, q[first] as number)) popHeap(q, v, first, middle, i);
}

function sortHeap(q: Int32Array, v: Float64Array, first: number, last: number): void {
  while (last - first > 1) {
    last--;
    popHeap(q, v, first, last, last);
  }
}

function nthElement(q: Int32Array, v: Float64Array, nth: number): void {
  let first = 0;
  let last = q.length;
  if (first === last || nth === last) return;
  let depthLimit = 2 * Math.floor(Math.log2(last - first));
  while (last - first > 3) {
    if (depthLimit === 0) {
      heapSelect(q, v, first, nth + 1, last);
      swap(q, first, nth);
      return;
    }
    depthLimit--;
    const mid = first + Math.floor((last - first) / 2);
    moveMedianToFirst(q, v, first, first + 1, mid, last - 1);
    const cut = unguardedPartition(q, v, first + 1, last, first);
    if (cut <= nth) first = cut;
    else last = cut;
  }
  insertionSort(q, v, first, last);
}

/** Indices of the k largest values, in the order torch.topk(..., sorted=False) yields them on CPU. */
export function torchTopkIndices(values: Float64Array, k: number): Int32Array {
  const n = values.length;
  const q = new Int32Array(n);
  for (let i = 0; i < n; i++) q[i] = i;
  if (k <= 0) return new Int32Array(0);
  if (k * 64 <= n) {
    heapSelect(q, values, 0, k, n);
    sortHeap(q, values, 0, k);
  } else {
    nthElement(q, values, k - 1);
  }
  return q.slice(0, k);
}
