import { SemsearchError } from '../../errors.js';

/**
 * A tokenizer.json pattern (`{"String": …}` or `{"Regex": …}`) as a global JavaScript RegExp that matches what
 * the Rust library's Oniguruma regex matches. Oniguruma's Unicode classes differ from JavaScript's (`\s` is
 * White_Space, so no U+FEFF and with U+0085; `\w` and `\d` are Unicode), so those escapes are rewritten; constructs
 * whose meaning differs and that are not rewritten (anchors, which Oniguruma's Ruby syntax treats as line anchors,
 * word boundaries, atomic groups, inline options) are refused rather than approximated; possessive quantifiers are
 * syntax errors to JavaScript, so they are refused too.
 */
export function patternRegExp(spec: unknown, file: string, field: string): RegExp {
  const invalid = (why: string): SemsearchError => new SemsearchError('TOKENIZER_INVALID', `${file}: ${field} ${why}`, { file, field });
  if (spec === null || typeof spec !== 'object') throw invalid('must be {"String": …} or {"Regex": …}');
  const p = spec as Record<string, unknown>;
  if (typeof p['String'] === 'string') {
    return new RegExp((p['String'] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'gu');
  }
  if (typeof p['Regex'] !== 'string') throw invalid('must be {"String": …} or {"Regex": …}');
  const src = p['Regex'] as string;
  let out = '';
  let inClass = 0;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i] as string;
    if (ch === '\\') {
      const next = src[i + 1];
      if (next === undefined) throw invalid(`pattern ${JSON.stringify(src)} ends in a backslash`);
      i++;
      const cls = inClass > 0;
      switch (next) {
        case 's':
          out += '\\p{White_Space}';
          break;
        case 'S':
          if (cls) throw invalid(`pattern ${JSON.stringify(src)} uses \\S inside a class, which is not supported`);
          out += '\\P{White_Space}';
          break;
        case 'd':
          out += '\\p{Nd}';
          break;
        case 'D':
          if (cls) throw invalid(`pattern ${JSON.stringify(src)} uses \\D inside a class, which is not supported`);
          out += '\\P{Nd}';
          break;
        case 'w':
          out += cls ? '\\p{L}\\p{M}\\p{Nd}\\p{Pc}' : '[\\p{L}\\p{M}\\p{Nd}\\p{Pc}]';
          break;
        case 'W':
          if (cls) throw invalid(`pattern ${JSON.stringify(src)} uses \\W inside a class, which is not supported`);
          out += '[^\\p{L}\\p{M}\\p{Nd}\\p{Pc}]';
          break;
        case 'b':
        case 'B':
        case 'A':
        case 'z':
        case 'Z':
        case 'G':
        case 'h':
        case 'H':
        case 'R':
        case 'X':
        case 'K':
        case 'k':
        case 'g':
          throw invalid(`pattern ${JSON.stringify(src)} uses \\${next}, which is not supported`);
        default:
          out += '\\' + next;
      }
      continue;
    }
    if (ch === '[') {
      if (inClass > 0 && src[i + 1] === ':') throw invalid(`pattern ${JSON.stringify(src)} uses a POSIX bracket, which is not supported`);
      inClass++;
      out += ch;
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      // A leading ] is a literal in Oniguruma, an empty class in JavaScript.
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (ch === ']' && inClass > 0) {
      inClass--;
      out += ch;
      continue;
    }
    if (inClass === 0) {
      if (ch === '^' || ch === '$') throw invalid(`pattern ${JSON.stringify(src)} uses an anchor, which is not supported`);
      if (ch === '(' && src[i + 1] === '?' && !/^\(\?(?:[:=!]|<[=!])/.test(src.slice(i))) {
        throw invalid(`pattern ${JSON.stringify(src)} uses a group kind that is not supported`);
      }
    }
    out += ch;
  }
  try {
    return new RegExp(out, 'gu');
  } catch (e) {
    throw invalid(`pattern ${JSON.stringify(src)} is not supported: ${(e as Error).message}`);
  }
}

/** The pieces of `text` (in order, covering it) with whether each is a match, as the Rust `find_matches` lists them. */
export function findMatches(re: RegExp, text: string): { text: string; match: boolean }[] {
  if (text.length === 0) return [{ text, match: false }];
  const out: { text: string; match: boolean }[] = [];
  let prev = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    const start = m.index;
    const end = start + m[0].length;
    if (prev !== start) out.push({ text: text.slice(prev, start), match: false });
    out.push({ text: m[0], match: true });
    prev = end;
  }
  if (prev !== text.length) out.push({ text: text.slice(prev), match: false });
  return out;
}
