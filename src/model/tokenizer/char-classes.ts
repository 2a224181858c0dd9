import { CONTROL_RANGES, LOWERCASE_PAIRS, NFD_PROTECT_RANGES, NONSPACING_MARK_RANGES, PUNCTUATION_RANGES } from './unicode-tables.js';

/**
 * Character classes exactly as the Rust `tokenizers` library sees them. Its tables predate the Unicode
 * version Node ships, so `\p{P}` and friends would disagree on newer characters; the tables are read off
 * the reference implementation instead (tools/reference/make_unicode_tables.py).
 */
export const CONTROL = 1;
export const NONSPACING_MARK = 2;
export const PUNCTUATION = 4;
export const WHITESPACE = 8;
export const CJK = 16;
export const NFD_PROTECT = 32;

const WHITESPACE_RE = /\p{White_Space}/u;

// CJK Unified Ideographs blocks as BertNormalizer's handle_chinese_chars defines them.
const CJK_RANGES: readonly number[] = [
  0x4e00, 0x9fff, 0x3400, 0x4dbf, 0x20000, 0x2a6df, 0x2a700, 0x2b73f, 0x2b740, 0x2b81f, 0x2b920, 0x2ceaf,
  0xf900, 0xfaff, 0x2f800, 0x2fa1f,
];

function buildTable(): Uint8Array {
  const t = new Uint8Array(0x110000);
  const mark = (ranges: readonly number[], flag: number): void => {
    for (let i = 0; i < ranges.length; i += 2) {
      const end = ranges[i + 1] as number;
      for (let cp = ranges[i] as number; cp <= end; cp++) t[cp] = (t[cp] as number) | flag;
    }
  };
  mark(CONTROL_RANGES, CONTROL);
  mark(NONSPACING_MARK_RANGES, NONSPACING_MARK);
  mark(PUNCTUATION_RANGES, PUNCTUATION);
  mark(CJK_RANGES, CJK);
  mark(NFD_PROTECT_RANGES, NFD_PROTECT);
  for (let cp = 0; cp < 0x3001; cp++) {
    if (WHITESPACE_RE.test(String.fromCodePoint(cp))) t[cp] = (t[cp] as number) | WHITESPACE;
  }
  return t;
}

/** Immutable after construction; built once because every tokenizer shares the same classes. */
const TABLE = buildTable();

export function charClass(cp: number): number {
  return TABLE[cp] as number;
}

const LOWER = new Map<number, string>();
for (let i = 0; i < LOWERCASE_PAIRS.length; i += 2) LOWER.set(LOWERCASE_PAIRS[i] as number, LOWERCASE_PAIRS[i + 1] as string);

/** Lowercase one character with the Unicode tables `tokenizers` was built with, not Node's newer ones. */
export function lowercaseChar(ch: string): string {
  return LOWER.get(ch.codePointAt(0) as number) ?? ch;
}

const ASTRAL = /[\uD800-\uDBFF]/;

/**
 * NFD as `tokenizers` computes it. Node's newer Unicode decomposes a few recent characters the Rust
 * tables leave whole; those are all astral, so plain BMP text takes the fast path.
 */
export function nfd(text: string): string {
  if (!ASTRAL.test(text)) return text.normalize('NFD');
  let out = '';
  let runStart = 0;
  let i = 0;
  for (const ch of text) {
    if ((charClass(ch.codePointAt(0) as number) & NFD_PROTECT) !== 0) {
      out += text.slice(runStart, i).normalize('NFD') + ch;
      runStart = i + ch.length;
    }
    i += ch.length;
  }
  return out + text.slice(runStart).normalize('NFD');
}
