import { WHITESPACE, charClass } from './char-classes.js';

/** An entry of tokenizer.json's `added_tokens`: matched in the text before the model ever sees it. */
export interface AddedToken {
  id: number;
  content: string;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** A piece of input: either plain text still to tokenize, or an added token already resolved to its id. */
export type Segment = { text: string } | { id: number };

function isWhitespaceAt(s: string, i: number): boolean {
  const cp = s.codePointAt(i);
  return cp !== undefined && (charClass(cp) & WHITESPACE) !== 0;
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);
}

/**
 * Leftmost-longest matching of added tokens, with their lstrip/rstrip/single_word rules, as the
 * `tokenizers` AddedVocabulary splits text. The whitespace a strip rule absorbs belongs to the token.
 */
export class AddedTokenMatcher {
  private readonly byFirst = new Map<string, AddedToken[]>();

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) {
      if (t.content.length === 0) continue;
      const first = t.content[0] as string;
      const list = this.byFirst.get(first) ?? [];
      list.push(t);
      this.byFirst.set(first, list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.content.length - a.content.length);
  }

  get empty(): boolean {
    return this.byFirst.size === 0;
  }

  split(text: string): Segment[] {
    if (this.byFirst.size === 0) return [{ text }];
    const out: Segment[] = [];
    let textStart = 0;
    let i = 0;
    while (i < text.length) {
      const candidates = this.byFirst.get(text[i] as string);
      let match: AddedToken | undefined;
      if (candidates !== undefined) {
        for (const t of candidates) {
          if (!text.startsWith(t.content, i)) continue;
          if (t.singleWord) {
            const before = i > 0 ? String.fromCodePoint(text.codePointAt(i - 1) as number) : undefined;
            const after = text[i + t.content.length];
            if (isWordChar(before) || isWordChar(after)) continue;
          }
          match = t;
          break;
        }
      }
      if (match === undefined) {
        i++;
        continue;
      }
      let start = i;
      let end = i + match.content.length;
      if (match.lstrip) while (start > textStart && isWhitespaceAt(text, start - 1)) start--;
      if (match.rstrip) while (end < text.length && isWhitespaceAt(text, end)) end++;
      if (start > textStart) out.push({ text: text.slice(textStart, start) });
      out.push({ id: match.id });
      textStart = end;
      i = end;
    }
    if (textStart < text.length) out.push({ text: text.slice(textStart) });
    return out;
  }
}
