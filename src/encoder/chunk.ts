// Token windows of long texts, cut by the model's own tokenizer: what `index --chunk` and chunked writes encode.
import { SemsearchError } from '../errors.js';
import type { Tokenizer } from '../model/tokenizer/tokenizer.js';

/** How a text longer than the model's window is cut (see chunkText). */
export interface ChunkOptions {
  /** Tokens a window may hold, special tokens (and a repeated title) included: at most the model's max_seq_length. */
  maxTokens: number;
  /** Tokens consecutive windows share (default DEFAULT_OVERLAP_SHARE of the window's text tokens). */
  overlap?: number;
  /**
   * A title the text starts with (BEIR: `title text`): every window after the first is encoded as `title` + a
   * space + its span, so each window reads as sentence-transformers reads a titled document. The first window
   * holds the title already.
   */
  title?: string;
  /**
   * The prompt encode puts before every window (the model's document prompt, e.g. e5's "passage: "): it takes room
   * in each window, so windows are cut to fit with it; it is not part of `input`.
   */
  prompt?: string;
}

/** One window of a text: its span in the original (UTF-16 offsets, end exclusive) and the text to encode. */
export interface TextChunk {
  start: number;
  end: number;
  /** What the model encodes: text.slice(start, end), after the title for windows past the first. */
  input: string;
}

/** Default overlap: an eighth of the window, as the common splitter defaults (LangChain's 200 of 1,000 chars is a fifth). */
export const DEFAULT_OVERLAP_SHARE = 1 / 8;

/**
 * How far back from the fullest cut a window may end to land on a paragraph or sentence break, as a share of the
 * window's text tokens: a window gives up at most this much room for a clean break.
 */
const BREAK_TOLERANCE = 0.2;

interface Word {
  start: number;
  end: number;
  tokens: number;
}

/** Tokens of a text without special tokens. */
function count(tokenizer: Tokenizer, text: string): number {
  return tokenizer.tokenize(text).length;
}

/** Text tokens left for a span once the special tokens (and the prefix) are counted. */
export function textBudget(tokenizer: Tokenizer, maxTokens: number, prefix = ''): number {
  return maxTokens - tokenizer.numSpecialTokens - (prefix === '' ? 0 : count(tokenizer, prefix));
}

/** The checks on chunk options shared by the library and the CLI. */
export function checkChunkOptions(o: { maxTokens: number; overlap?: number | undefined }, maxSeqLength: number, numSpecialTokens: number): void {
  if (!Number.isInteger(o.maxTokens) || o.maxTokens <= numSpecialTokens || o.maxTokens > maxSeqLength) {
    throw new SemsearchError('INVALID_ARGUMENT', `chunk tokens must be an integer from ${numSpecialTokens + 1} to the model's max_seq_length ${maxSeqLength}, got ${o.maxTokens}`, {
      field: 'chunkTokens',
    });
  }
  if (o.overlap !== undefined && (!Number.isInteger(o.overlap) || o.overlap < 0 || o.overlap >= o.maxTokens - numSpecialTokens)) {
    throw new SemsearchError('INVALID_ARGUMENT', `chunk overlap must be an integer from 0 to less than a window's ${o.maxTokens - numSpecialTokens} text tokens, got ${o.overlap}`, {
      field: 'chunkOverlap',
    });
  }
}

/**
 * Whether the model reads all of a text: its tokens with the special tokens fit `maxTokens`. Stops tokenizing
 * once past it, so a long text costs only its first window.
 */
export function fitsWindow(tokenizer: Tokenizer, text: string, maxTokens: number): boolean {
  const room = maxTokens - tokenizer.numSpecialTokens;
  return tokenizer.tokenize(text, room + 1).length <= room;
}

/** A word ends a paragraph when a blank line follows it, a sentence when it ends in . ! ? (closing quotes or brackets after). */
function breakAfter(text: string, w: Word, next: Word | undefined): number {
  if (next === undefined) return 2;
  const gap = text.slice(w.end, next.start);
  if (/\n[ \t\r\f\v]*\n/.test(gap)) return 2;
  if (/[.!?。！？][)\]"'”’»]*$/.test(text.slice(w.start, w.end))) return 1;
  return 0;
}

/** Cut one word too long for a window into pieces that fit, at code point boundaries (a surrogate pair stays whole). */
function splitWord(tokenizer: Tokenizer, text: string, w: Word, budget: number): Word[] {
  const cuts: number[] = [];
  for (let i = w.start + 1; i < w.end; i++) {
    const c = text.charCodeAt(i);
    const p = text.charCodeAt(i - 1);
    if (!(c >= 0xdc00 && c <= 0xdfff && p >= 0xd800 && p <= 0xdbff)) cuts.push(i);
  }
  cuts.push(w.end);
  const out: Word[] = [];
  let start = w.start;
  let from = 0;
  while (start < w.end) {
    // The longest piece of the rest whose tokens fit (at least one code point): binary search over the cuts.
    let lo = from;
    let hi = cuts.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (count(tokenizer, text.slice(start, cuts[mid])) <= budget) lo = mid;
      else hi = mid - 1;
    }
    const end = cuts[lo] as number;
    out.push({ start, end, tokens: count(tokenizer, text.slice(start, end)) });
    start = end;
    from = lo + 1;
  }
  return out;
}

/**
 * Cut a text into windows the model reads whole. A text that fits is one window, itself, encoded exactly as without
 * chunking. A longer one is cut between whitespace-delimited words (a word longer than a window is cut between
 * characters): each window is filled with as many words as its token budget takes, then ends earlier, by at most
 * BREAK_TOLERANCE of its budget, where a paragraph (or else a sentence) ends; the next starts `overlap` tokens
 * before the end of the last. Every window's input is re-tokenized and shrunk word by word until its tokens and
 * special tokens fit `maxTokens`, so the bound holds whatever the tokenizer does at word joins. Spans are offsets
 * into `text`, windows cover every non-space character, and the same text always gives the same windows.
 */
export function chunkText(tokenizer: Tokenizer, text: string, options: ChunkOptions): TextChunk[] {
  const special = tokenizer.numSpecialTokens;
  checkChunkOptions(options, Number.MAX_SAFE_INTEGER, special);
  const prompt = options.prompt ?? '';
  if (fitsWindow(tokenizer, prompt + text, options.maxTokens)) return [{ start: 0, end: text.length, input: text }];
  const title = options.title !== undefined && options.title.trim() !== '' && text.startsWith(options.title) ? options.title : '';
  const prefix = title === '' ? '' : `${title} `;
  const firstBudget = textBudget(tokenizer, options.maxTokens, prompt);
  if (firstBudget < 1) {
    throw new SemsearchError('INVALID_ARGUMENT', `the prompt ${JSON.stringify(prompt)} leaves no room for text in a window of ${options.maxTokens} tokens`, { field: 'chunkTokens' });
  }
  // A title that leaves less than half the window for text is not repeated.
  const restPrefix = prefix !== '' && textBudget(tokenizer, options.maxTokens, prompt + prefix) >= firstBudget / 2 ? prefix : '';
  const budget = textBudget(tokenizer, options.maxTokens, prompt + restPrefix);
  const overlap = Math.min(options.overlap ?? Math.floor(budget * DEFAULT_OVERLAP_SHARE), budget - 1);

  const words: Word[] = [];
  for (const m of text.matchAll(/\S+/gu)) {
    const w = { start: m.index, end: m.index + m[0].length, tokens: 0 };
    w.tokens = count(tokenizer, text.slice(w.start, w.end));
    if (w.tokens > budget) words.push(...splitWord(tokenizer, text, w, budget));
    else words.push(w);
  }
  const fits = (from: number, to: number, pre: string): boolean => count(tokenizer, prompt + pre + text.slice((words[from] as Word).start, (words[to - 1] as Word).end)) + special <= options.maxTokens;

  const chunks: TextChunk[] = [];
  let i = 0;
  // Words before `covered` are in a window already; every window takes at least the next one.
  let covered = 0;
  while (covered < words.length) {
    const pre = chunks.length === 0 ? '' : restPrefix;
    const room = chunks.length === 0 ? firstBudget : budget;
    // The overlap gives way when it leaves no room for the next uncovered word.
    let need = 0;
    for (let x = i; x <= covered; x++) need += (words[x] as Word).tokens;
    while (i < covered && need > room) need -= (words[i++] as Word).tokens;
    const least = covered + 1;
    let j = i;
    let used = 0;
    while (j < words.length && used + (words[j] as Word).tokens <= room) used += (words[j++] as Word).tokens;
    if (j < least) j = least;
    if (j < words.length) {
      // Prefer ending on a paragraph, else a sentence, within the tolerance.
      const floor = used - Math.floor(room * BREAK_TOLERANCE);
      let best = j;
      let bestKind = 0;
      let acc = used;
      for (let e = j; e >= least && e > i && acc >= floor; e--) {
        const kind = breakAfter(text, words[e - 1] as Word, words[e]);
        if (kind > bestKind) {
          best = e;
          bestKind = kind;
          if (kind === 2) break;
        }
        acc -= (words[e - 1] as Word).tokens;
      }
      j = best;
    }
    while (j > least && !fits(i, j, pre)) j--;
    // Word joins the counts missed: drop overlap words until the window fits.
    while (i < covered && !fits(i, j, pre)) i++;
    const start = chunks.length === 0 ? 0 : (words[i] as Word).start;
    const end = j === words.length ? text.length : (words[j - 1] as Word).end;
    chunks.push({ start, end, input: pre + text.slice(start, end) });
    covered = j;
    if (j >= words.length) break;
    // The next window starts `overlap` tokens back, after this one's start.
    let s = j;
    let back = 0;
    while (s - 1 > i && back + (words[s - 1] as Word).tokens <= overlap) back += (words[--s] as Word).tokens;
    i = s;
  }
  return chunks;
}
