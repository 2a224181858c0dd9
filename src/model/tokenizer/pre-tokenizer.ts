import { SemsearchError } from '../../errors.js';
import { PUNCTUATION, WHITESPACE, charClass } from './char-classes.js';
import { findMatches, patternRegExp } from './onig-regex.js';

/**
 * Splits normalized text into words, as the `pre_tokenizer` field of tokenizer.json describes. `atOrigin`: the text
 * starts at offset 0 of the input (Metaspace's prepend_scheme "first" adds its marker only there).
 */
export type PreTokenizer = (text: string, atOrigin: boolean) => string[];

/** Whitespace separates words and is dropped; every punctuation character is a word of its own. */
export function bertPreTokenize(text: string): string[] {
  const words: string[] = [];
  let start = -1;
  let i = 0;
  for (const ch of text) {
    const cls = charClass(ch.codePointAt(0) as number);
    if ((cls & WHITESPACE) !== 0) {
      if (start >= 0) words.push(text.slice(start, i));
      start = -1;
    } else if ((cls & PUNCTUATION) !== 0) {
      if (start >= 0) words.push(text.slice(start, i));
      words.push(ch);
      start = -1;
    } else if (start < 0) {
      start = i;
    }
    i += ch.length;
  }
  if (start >= 0) words.push(text.slice(start));
  return words;
}

function whitespaceSplit(text: string): string[] {
  return text.split(/\p{White_Space}+/u).filter((w) => w.length > 0);
}

// The Rust regex crate's \w is Unicode (Alphabetic, marks, decimal digits, connector punctuation, joiners).
const WORD_OR_SYMBOLS = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;

function whitespacePreTokenize(text: string): string[] {
  return text.match(WORD_OR_SYMBOLS) ?? [];
}

// GPT-2's pattern, which the ByteLevel pre-tokenizer hard-codes, with Oniguruma's \s (White_Space) spelled out.
const BYTE_LEVEL_RE = patternRegExp(
  { Regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" },
  'byte-level pattern',
  'pre_tokenizer',
);

/** GPT-2's byte → printable character table: printable Latin-1 bytes map to themselves, the rest from U+0100 on. */
const BYTE_CHARS: readonly string[] = (() => {
  const keep = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : 256 + n++));
  return out;
})();

const UTF8 = new TextEncoder();

export function byteLevelChars(text: string): string {
  let out = '';
  for (const b of UTF8.encode(text)) out += BYTE_CHARS[b] as string;
  return out;
}

function byteLevel(addPrefixSpace: boolean, useRegex: boolean): PreTokenizer {
  return (text) => {
    const t = addPrefixSpace && text.length > 0 && !text.startsWith(' ') ? ' ' + text : text;
    const words = useRegex ? findMatches(BYTE_LEVEL_RE, t).map((m) => m.text) : [t];
    return words.filter((w) => w.length > 0).map(byteLevelChars);
  };
}

type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

/** NormalizedString::split: how matched delimiters join (or leave) the pieces around them; empty pieces are dropped. */
function splitBy(pieces: { text: string; match: boolean }[], behavior: Behavior): string[] {
  const out: string[] = [];
  switch (behavior) {
    case 'Isolated':
      for (const p of pieces) out.push(p.text);
      break;
    case 'Removed':
      for (const p of pieces) if (!p.match) out.push(p.text);
      break;
    case 'Contiguous': {
      let prev = false;
      pieces.forEach((p, i) => {
        if (i > 0 && p.match === prev) out[out.length - 1] += p.text;
        else out.push(p.text);
        prev = p.match;
      });
      break;
    }
    case 'MergedWithPrevious': {
      let prev = false;
      for (const p of pieces) {
        if (p.match && !prev && out.length > 0) out[out.length - 1] += p.text;
        else out.push(p.text);
        prev = p.match;
      }
      break;
    }
    case 'MergedWithNext': {
      let prev = false;
      for (let i = pieces.length - 1; i >= 0; i--) {
        const p = pieces[i] as { text: string; match: boolean };
        if (p.match && !prev && out.length > 0) out[out.length - 1] = p.text + (out[out.length - 1] as string);
        else out.push(p.text);
        prev = p.match;
      }
      out.reverse();
      break;
    }
  }
  return out.filter((w) => w.length > 0);
}

function metaspace(replacement: string, prepend: 'always' | 'first' | 'never', split: boolean): PreTokenizer {
  return (text, atOrigin) => {
    if (text.length === 0) return [];
    let t = text.replaceAll(' ', replacement);
    if ((prepend === 'always' || (prepend === 'first' && atOrigin)) && !t.startsWith(replacement)) t = replacement + t;
    if (!split) return [t];
    const pieces: { text: string; match: boolean }[] = [];
    let last = 0;
    for (let i = t.indexOf(replacement); i >= 0; i = t.indexOf(replacement, i + replacement.length)) {
      if (last < i) pieces.push({ text: t.slice(last, i), match: false });
      pieces.push({ text: replacement, match: true });
      last = i + replacement.length;
    }
    if (last < t.length) pieces.push({ text: t.slice(last), match: false });
    return splitBy(pieces, 'MergedWithNext');
  };
}

const BEHAVIORS: readonly string[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

export function preTokenizerFromJson(spec: unknown, file: string): PreTokenizer | null {
  if (spec === null || spec === undefined) return null;
  const j = spec as Record<string, unknown>;
  const invalid = (field: string, why: string): SemsearchError =>
    new SemsearchError('TOKENIZER_INVALID', `${file}: pre_tokenizer ${String(j['type'])} ${why}`, { file, field: `pre_tokenizer.${field}` });
  switch (j['type']) {
    case 'BertPreTokenizer':
      return bertPreTokenize;
    case 'WhitespaceSplit':
      return whitespaceSplit;
    case 'Whitespace':
      return whitespacePreTokenize;
    case 'ByteLevel':
      return byteLevel(j['add_prefix_space'] !== false, j['use_regex'] !== false);
    case 'Metaspace': {
      const replacement = j['replacement'];
      if (typeof replacement !== 'string' || Array.from(replacement).length !== 1) throw invalid('replacement', 'needs a one-character replacement');
      let scheme: unknown = j['prepend_scheme'] ?? 'always';
      if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') throw invalid('prepend_scheme', `has unknown prepend_scheme ${JSON.stringify(scheme)}`);
      // The legacy add_prefix_space: false means never, and contradicts an explicit other scheme.
      if (j['add_prefix_space'] === false) {
        if (j['prepend_scheme'] !== undefined && scheme !== 'never') throw invalid('add_prefix_space', 'add_prefix_space does not match prepend_scheme');
        scheme = 'never';
      }
      return metaspace(replacement, scheme as 'always' | 'first' | 'never', j['split'] !== false);
    }
    case 'Split': {
      const re = patternRegExp(j['pattern'], file, 'pre_tokenizer.pattern');
      const behavior = j['behavior'];
      if (typeof behavior !== 'string' || !BEHAVIORS.includes(behavior)) throw invalid('behavior', `has unknown behavior ${JSON.stringify(behavior)}`);
      const invert = j['invert'] === true;
      return (text) => {
        if (text.length === 0) return [];
        const pieces = findMatches(re, text).map((p) => (invert ? { text: p.text, match: !p.match } : p));
        return splitBy(pieces, behavior as Behavior);
      };
    }
    case 'Sequence': {
      const list = j['pretokenizers'];
      if (!Array.isArray(list)) throw invalid('pretokenizers', 'needs a pretokenizers list');
      const parts = list.map((p) => preTokenizerFromJson(p, file)).filter((p): p is PreTokenizer => p !== null);
      return (t, atOrigin) => parts.reduce<string[]>((words, p) => words.flatMap((w, i) => p(w, atOrigin && i === 0)), [t]);
    }
    default:
      throw new SemsearchError('TOKENIZER_INVALID', `${file}: unsupported pre_tokenizer type ${JSON.stringify(j['type'])}`, {
        file,
        field: 'pre_tokenizer.type',
      });
  }
}
