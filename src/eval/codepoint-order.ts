/**
 * Compare two strings by Unicode code point, which is the byte order of their UTF-8 forms: the order
 * of C's strcmp (trec_eval's docno tie-break) and of Python's str comparison (sentence-transformers' heap).
 * JavaScript's `<` compares UTF-16 code units instead, which puts U+E000..U+FFFF after astral characters.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Move surrogates above the rest of the BMP so code-unit order becomes code-point order.
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}
