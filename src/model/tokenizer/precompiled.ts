import { SemsearchError } from '../../errors.js';

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true });

/**
 * SentencePiece's `precompiled_charsmap` (a Darts double-array trie over UTF-8 bytes plus a blob of
 * NUL-terminated replacements), applied as the Rust `spm_precompiled` crate does: grapheme by grapheme, a grapheme
 * under 6 bytes replaced whole by its shortest matching prefix's replacement when one matches (a quirk kept on
 * purpose: XLM-R's vocabulary was built with it), else character by character.
 */
export function precompiledNormalizer(charsmapBase64: string, file: string): (text: string) => string {
  const bytes = Buffer.from(charsmapBase64, 'base64');
  const bad = (why: string): SemsearchError =>
    new SemsearchError('TOKENIZER_INVALID', `${file}: normalizer Precompiled precompiled_charsmap ${why}`, {
      file,
      field: 'normalizer.precompiled_charsmap',
    });
  if (bytes.length < 4) throw bad('is too short');
  const trieSize = bytes.readUInt32LE(0);
  if (trieSize % 4 !== 0 || 4 + trieSize > bytes.length) throw bad('has a trie size beyond its length');
  const units = new Uint32Array(trieSize / 4);
  for (let i = 0; i < units.length; i++) units[i] = bytes.readUInt32LE(4 + 4 * i);
  const blob = bytes.subarray(4 + trieSize);
  try {
    UTF8_DECODER.decode(blob);
  } catch {
    throw bad('holds replacements that are not UTF-8');
  }
  if (units.length === 0) throw bad('has an empty trie');

  const offset = (u: number): number => (u >>> 10) << ((u & (1 << 9)) >>> 6);
  const hasLeaf = (u: number): boolean => ((u >>> 8) & 1) === 1;
  const label = (u: number): number => u & ((1 << 31) | 0xff);
  const value = (u: number): number => u & 0x7fffffff;

  /** The replacement of the shortest prefix of `key` in the trie, or undefined. */
  const lookup = (key: Uint8Array): string | undefined => {
    let pos = 0;
    let unit = units[pos] as number;
    pos ^= offset(unit);
    for (const c of key) {
      if (c === 0) break;
      pos ^= c;
      unit = units[pos] ?? 0;
      if (label(unit) !== c) return undefined;
      pos ^= offset(unit);
      if (hasLeaf(unit)) {
        const start = value(units[pos] ?? 0);
        let end = start;
        while (end < blob.length && blob[end] !== 0) end++;
        return UTF8_DECODER.decode(blob.subarray(start, end));
      }
    }
    return undefined;
  };

  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  // Graphemes repeat; their replacement is cached (bounded, so unusual input cannot grow it without limit).
  const cache = new Map<string, string>();
  const grapheme = (g: string): string => {
    const hit = cache.get(g);
    if (hit !== undefined) return hit;
    let out: string | undefined;
    const utf8 = UTF8_ENCODER.encode(g);
    if (utf8.length < 6) out = lookup(utf8);
    if (out === undefined) {
      out = '';
      for (const ch of g) out += lookup(UTF8_ENCODER.encode(ch)) ?? ch;
    }
    if (cache.size >= 65_536) cache.clear();
    cache.set(g, out);
    return out;
  };
  const ascii = (text: string, i: number): boolean => text.charCodeAt(i) < 0x80;
  return (text: string): string => {
    let out = '';
    let i = 0;
    while (i < text.length) {
      // Between two ASCII characters (bar CR LF) there is always a grapheme break, so only the stretches around
      // non-ASCII characters need the segmenter; plain ASCII goes character by character.
      let j = i + 1;
      while (j < text.length && !(ascii(text, j - 1) && ascii(text, j) && !(text[j - 1] === '\r' && text[j] === '\n'))) j++;
      if (j === i + 1) out += grapheme(text[i] as string);
      else for (const { segment } of segmenter.segment(text.slice(i, j))) out += grapheme(segment);
      i = j;
    }
    return out;
  };
}
