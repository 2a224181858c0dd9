// A document as the rows a chunked index stores: one per token window (encoder/chunk.ts), each with its span.
import { chunkText, checkChunkOptions, DEFAULT_OVERLAP_SHARE, fitsWindow } from '../encoder/chunk.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import type { DocRow } from './doc-store.js';
import type { Metadata } from './filter.js';
import type { ChunkingInfo } from './manifest.js';

/** What `--chunk` asks for: tokens per window (default: the model's max_seq_length) and overlap (default: an eighth of the window's text). */
export interface ChunkSettings {
  maxTokens?: number;
  overlap?: number;
}

/** A row to store and the text its vector encodes (the window, after a repeated title). */
export interface ChunkRow extends DocRow {
  input: string;
}

/** The settings a chunked index records, checked against the model. */
export function chunkingFor(model: SentenceTransformer, settings: ChunkSettings): ChunkingInfo {
  const maxTokens = settings.maxTokens ?? model.maxSeqLength;
  checkChunkOptions({ maxTokens, overlap: settings.overlap }, model.maxSeqLength, model.tokenizer.numSpecialTokens);
  const overlap = settings.overlap ?? Math.floor((maxTokens - model.tokenizer.numSpecialTokens) * DEFAULT_OVERLAP_SHARE);
  return { maxTokens, overlap };
}

/**
 * The rows of one document: itself (no chunking), or its windows. A BEIR title (metadata `title`, which the text
 * starts with) is repeated in each window's input, as the model read it in the first.
 */
export function documentRows(
  model: SentenceTransformer,
  doc: { id: string; text: string; metadata?: Metadata | undefined },
  chunking: ChunkingInfo | undefined,
  prompt = '',
): ChunkRow[] {
  const meta = doc.metadata !== undefined ? { metadata: doc.metadata } : {};
  if (chunking === undefined) return [{ id: doc.id, text: doc.text, input: doc.text, ...meta }];
  const title = doc.metadata?.['title'];
  // The document prompt goes before each window when it is encoded, so each window is cut to fit with it.
  const windows = chunkText(model.tokenizer, doc.text, { maxTokens: chunking.maxTokens, overlap: chunking.overlap, prompt, ...(typeof title === 'string' ? { title } : {}) });
  return windows.map((w, number) => ({ id: doc.id, text: doc.text.slice(w.start, w.end), input: w.input, chunk: { number, start: w.start, end: w.end }, ...meta }));
}

/** Whether the model reads all of a text (truncation report of unchunked builds). */
export function fitsModel(model: SentenceTransformer, text: string, prompt = ''): boolean {
  return fitsWindow(model.tokenizer, prompt + text, model.maxSeqLength);
}
