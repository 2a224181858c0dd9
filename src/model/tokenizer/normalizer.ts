import { SemsearchError } from '../../errors.js';
import { CJK, CONTROL, NONSPACING_MARK, WHITESPACE, charClass, lowercaseChar, nfd } from './char-classes.js';
import { patternRegExp } from './onig-regex.js';
import { precompiledNormalizer } from './precompiled.js';

/** A text normalizer, as the `normalizer` field of tokenizer.json describes one. */
export type Normalizer = (text: string) => string;

export interface BertNormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  /** null: follow `lowercase`, as the Rust implementation does. */
  stripAccents: boolean | null;
  lowercase: boolean;
}

/** Lowercase code point by code point: `tokenizers` has no context rules (no final sigma). */
export function lowercaseChars(text: string): string {
  let out = '';
  for (const ch of text) out += lowercaseChar(ch);
  return out;
}

function stripAccents(text: string): string {
  let out = '';
  for (const ch of nfd(text)) {
    if ((charClass(ch.codePointAt(0) as number) & NONSPACING_MARK) === 0) out += ch;
  }
  return out;
}

export function bertNormalizer(o: BertNormalizerOptions): Normalizer {
  const strip = o.stripAccents ?? o.lowercase;
  return (text: string): string => {
    let s = text;
    if (o.cleanText || o.handleChineseChars) {
      let out = '';
      for (const ch of s) {
        const cp = ch.codePointAt(0) as number;
        const cls = charClass(cp);
        if (o.cleanText) {
          if (cp === 0 || cp === 0xfffd || (cls & CONTROL) !== 0) continue;
          if ((cls & WHITESPACE) !== 0) {
            out += ' ';
            continue;
          }
        }
        if (o.handleChineseChars && (cls & CJK) !== 0) out += ' ' + ch + ' ';
        else out += ch;
      }
      s = out;
    }
    if (strip) s = stripAccents(s);
    if (o.lowercase) s = lowercaseChars(s);
    return s;
  };
}

type Json = Record<string, unknown>;

/** Build the normalizer a tokenizer.json describes; `null` means none. */
export function normalizerFromJson(spec: unknown, file: string): Normalizer | null {
  if (spec === null || spec === undefined) return null;
  const j = spec as Json;
  switch (j['type']) {
    case 'BertNormalizer':
      return bertNormalizer({
        cleanText: j['clean_text'] !== false,
        handleChineseChars: j['handle_chinese_chars'] !== false,
        stripAccents: typeof j['strip_accents'] === 'boolean' ? j['strip_accents'] : null,
        lowercase: j['lowercase'] !== false,
      });
    case 'Lowercase':
      return lowercaseChars;
    case 'StripAccents':
      return (t) => {
        let out = '';
        for (const ch of t) if ((charClass(ch.codePointAt(0) as number) & NONSPACING_MARK) === 0) out += ch;
        return out;
      };
    case 'NFD':
      return nfd;
    case 'NFC':
    case 'NFKD':
    case 'NFKC': {
      const form = j['type'];
      return (t) => t.normalize(form);
    }
    case 'Strip': {
      const left = j['strip_left'] !== false;
      const right = j['strip_right'] !== false;
      return (t) => {
        let s = t;
        if (left) s = s.replace(/^\p{White_Space}+/u, '');
        if (right) s = s.replace(/\p{White_Space}+$/u, '');
        return s;
      };
    }
    case 'Replace': {
      const re = patternRegExp(j['pattern'], file, 'normalizer.pattern');
      const content = j['content'];
      if (typeof content !== 'string') {
        throw new SemsearchError('TOKENIZER_INVALID', `${file}: normalizer Replace needs a string content`, { file, field: 'normalizer.content' });
      }
      return (t) => t.replace(re, () => content);
    }
    case 'Prepend': {
      const prefix = j['prepend'];
      if (typeof prefix !== 'string') {
        throw new SemsearchError('TOKENIZER_INVALID', `${file}: normalizer Prepend needs a string prepend`, { file, field: 'normalizer.prepend' });
      }
      return (t) => (t.length === 0 ? t : prefix + t);
    }
    case 'Precompiled': {
      const map = j['precompiled_charsmap'];
      if (typeof map !== 'string') {
        throw new SemsearchError('TOKENIZER_INVALID', `${file}: normalizer Precompiled needs a base64 precompiled_charsmap`, {
          file,
          field: 'normalizer.precompiled_charsmap',
        });
      }
      return precompiledNormalizer(map, file);
    }
    case 'Sequence': {
      const list = j['normalizers'];
      if (!Array.isArray(list)) {
        throw new SemsearchError('TOKENIZER_INVALID', `${file}: normalizer Sequence needs a normalizers list`, { file, field: 'normalizer.normalizers' });
      }
      const parts = list.map((n) => normalizerFromJson(n, file)).filter((n): n is Normalizer => n !== null);
      return (t) => parts.reduce((acc, n) => n(acc), t);
    }
    default:
      throw new SemsearchError('TOKENIZER_INVALID', `${file}: unsupported normalizer type ${JSON.stringify(j['type'])}`, {
        file,
        field: 'normalizer.type',
      });
  }
}
