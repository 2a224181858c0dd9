import { SemsearchError } from '../../errors.js';
import { PUNCTUATION, WHITESPACE, charClass } from './char-classes.js';

/** Splits normalized text into words, as the `pre_tokenizer` field of tokenizer.json describes. */
export type PreTokenizer = (text: string) => string[];

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

function whitespacePreTokenize(text: string): string[] {
  return text.match(/\w+|[^\w\s]+/gu) ?? [];
}

export function preTokenizerFromJson(spec: unknown, file: string): PreTokenizer | null {
  if (spec === null || spec === undefined) return null;
  const j = spec as Record<string, unknown>;
  switch (j['type']) {
    case 'BertPreTokenizer':
      return bertPreTokenize;
    case 'WhitespaceSplit':
      return whitespaceSplit;
    case 'Whitespace':
      return whitespacePreTokenize;
    case 'Sequence': {
      const parts = ((j['pretokenizers'] as unknown[]) ?? []).map((p) => preTokenizerFromJson(p, file)).filter((p): p is PreTokenizer => p !== null);
      return (t) => parts.reduce<string[]>((words, p) => words.flatMap(p), [t]);
    }
    default:
      throw new SemsearchError('TOKENIZER_INVALID', `${file}: unsupported pre_tokenizer type ${JSON.stringify(j['type'])}`, {
        file,
        field: 'pre_tokenizer.type',
      });
  }
}
