/**
 * CPython's heapq, step for step (Lib/heapq.py; _heapq.c does the same), over any item type with Python's
 * `<` given as `less`. sentence-transformers keeps its top-k in such heaps and returns them in the heap's
 * array order where scores tie, so reproducing its results means reproducing these exact moves.
 */
export type Less<T> = (a: T, b: T) => boolean;

function siftDown<T>(heap: T[], start: number, pos: number, less: Less<T>): void {
  const item = heap[pos] as T;
  while (pos > start) {
    const parentPos = (pos - 1) >> 1;
    const parent = heap[parentPos] as T;
    if (less(item, parent)) {
      heap[pos] = parent;
      pos = parentPos;
      continue;
    }
    break;
  }
  heap[pos] = item;
}

function siftUp<T>(heap: T[], pos: number, less: Less<T>): void {
  const end = heap.length;
  const start = pos;
  const item = heap[pos] as T;
  let child = 2 * pos + 1;
  while (child < end) {
    const right = child + 1;
    if (right < end && !less(heap[child] as T, heap[right] as T)) child = right;
    heap[pos] = heap[child] as T;
    pos = child;
    child = 2 * pos + 1;
  }
  heap[pos] = item;
  siftDown(heap, start, pos, less);
}

/** heapq.heappush */
export function heapPush<T>(heap: T[], item: T, less: Less<T>): void {
  heap.push(item);
  siftDown(heap, 0, heap.length - 1, less);
}

/** heapq.heappushpop, whose popped item is dropped here because no caller needs it. */
export function heapPushPop<T>(heap: T[], item: T, less: Less<T>): void {
  if (heap.length > 0 && less(heap[0] as T, item)) {
    heap[0] = item;
    siftUp(heap, 0, less);
  }
}
