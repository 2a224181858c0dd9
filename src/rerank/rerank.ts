import { SemsearchError } from '../errors.js';
import { cosSim } from '../score/similarity.js';
import { Matrix } from '../tensor/matrix.js';
import type { CandidateList } from '../corpus/candidates.js';
import { assertUniqueDocids, type Run } from './ranked-list.js';
import type { WarningHandler } from '../corpus/warnings.js';

/**
 * What re-ranking needs from a bi-encoder. A loaded SentenceTransformer fits as is: its encodeQuery /
 * encodeDocument (the model's prompts) are used when present, as the sentence-transformers evaluator
 * does, and its similarity (the model's similarity_fn_name) scores the pairs.
 */
export interface RerankEncoder {
  encode(texts: string[]): Promise<Matrix>;
  encodeQuery?(texts: string[]): Promise<Matrix>;
  encodeDocument?(texts: string[]): Promise<Matrix>;
  similarity?(a: Matrix, b: Matrix): Matrix;
}

export interface RerankOptions {
  /** Query id → text. */
  queries: ReadonlyMap<string, string>;
  /** Document id → text. */
  passages: ReadonlyMap<string, string>;
  /**
   * A run document without text: "error" (default) throws MISSING_TEXT; "drop" leaves it out of the new
   * ranking and counts a DOCUMENT_WITHOUT_TEXT warning (e.g. the RepLLaMA top-1000 runs, whose tails have no text here).
   */
  missingText?: 'error' | 'drop';
  /** Texts handed to one encode call (default 1024); the encoder batches inside. */
  encodeChunk?: number;
  onWarning?: WarningHandler;
  /** Called after each encode call with the documents encoded so far. */
  onProgress?: (p: { documentsEncoded: number; documents: number }) => void;
}

/** Encode `texts` in calls of `chunk` texts into one matrix (shared by re-ranking and full retrieval). */
export async function encodeAll(encode: (t: string[]) => Promise<Matrix>, texts: string[], chunk: number, onChunk?: (done: number) => void): Promise<Matrix> {
  if (texts.length === 0) return new Matrix(0, 0);
  const parts: Matrix[] = [];
  for (let i = 0; i < texts.length; i += chunk) {
    const m = await encode(texts.slice(i, i + chunk));
    if (m.rows !== Math.min(chunk, texts.length - i)) {
      throw new SemsearchError('SHAPE_MISMATCH', `the encoder returned ${m.rows} rows for ${Math.min(chunk, texts.length - i)} texts`, {
        field: 'encoder',
      });
    }
    parts.push(m);
    onChunk?.(i + m.rows);
  }
  const dim = (parts[0] as Matrix).dim;
  const out = new Matrix(texts.length, dim);
  let row = 0;
  for (const p of parts) {
    if (p.dim !== dim) throw new SemsearchError('SHAPE_MISMATCH', `the encoder returned rows of ${p.dim} and ${dim} values`, { field: 'encoder' });
    out.data.set(p.data, row * dim);
    row += p.rows;
  }
  return out;
}

/**
 * Re-rank every query's candidates of `run` with the bi-encoder: each distinct query and passage is
 * encoded once, candidates are scored against their query, and each list is sorted by the new score
 * (descending; equal scores keep the candidate order). Returns the new run, ready for evaluateRun or
 * writeTrecRun.
 */
export async function rerankRun(encoder: RerankEncoder, run: Run, options: RerankOptions): Promise<Run> {
  const chunk = options.encodeChunk ?? 1024;
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new SemsearchError('INVALID_ARGUMENT', `encodeChunk must be a positive integer, got ${chunk}`, { field: 'encodeChunk' });
  }
  const kept = new Map<string, string[]>();
  const docIndex = new Map<string, number>();
  const docTexts: string[] = [];
  const queryIds: string[] = [];
  const queryTexts: string[] = [];
  for (const [qid, list] of run) {
    assertUniqueDocids(qid, list);
    const q = options.queries.get(qid);
    if (q === undefined) {
      throw new SemsearchError('MISSING_TEXT', `run query ${qid} has no text among the given queries`, { field: 'queries' });
    }
    queryIds.push(qid);
    queryTexts.push(q);
    const docs: string[] = [];
    for (const docid of list.docids) {
      if (!docIndex.has(docid)) {
        const text = options.passages.get(docid);
        if (text === undefined) {
          if (options.missingText === 'drop') {
            options.onWarning?.({ code: 'DOCUMENT_WITHOUT_TEXT', message: `document ${docid} (query ${qid}) has no text; left out`, query: qid });
            continue;
          }
          throw new SemsearchError('MISSING_TEXT', `document ${docid} of query ${qid} has no text among the given passages`, {
            field: 'passages',
          });
        }
        docIndex.set(docid, docTexts.length);
        docTexts.push(text);
      }
      docs.push(docid);
    }
    kept.set(qid, docs);
  }
  const encodeQ = (t: string[]): Promise<Matrix> => (encoder.encodeQuery ? encoder.encodeQuery(t) : encoder.encode(t));
  const encodeD = (t: string[]): Promise<Matrix> => (encoder.encodeDocument ? encoder.encodeDocument(t) : encoder.encode(t));
  const qEmb = await encodeAll(encodeQ, queryTexts, chunk);
  const dEmb = await encodeAll(encodeD, docTexts, chunk, (done) => options.onProgress?.({ documentsEncoded: done, documents: docTexts.length }));
  const score = (a: Matrix, b: Matrix): Matrix => (encoder.similarity ? encoder.similarity(a, b) : cosSim(a, b));

  const out: Run = new Map();
  queryIds.forEach((qid, qi) => {
    const docs = kept.get(qid) as string[];
    const rows = new Matrix(docs.length, dEmb.dim);
    docs.forEach((d, i) => rows.data.set(dEmb.row(docIndex.get(d) as number), i * dEmb.dim));
    const s = docs.length === 0 ? [] : Array.from(score(qEmb.slice(qi, qi + 1), rows).row(0));
    const order = docs.map((_, i) => i).sort((a, b) => (s[b] as number) - (s[a] as number));
    out.set(qid, { docids: order.map((i) => docs[i] as string), scores: order.map((i) => s[i] as number) });
  });
  return out;
}

/**
 * Re-rank candidate lists that carry their own texts (rank_llm's retrieve_results JSON): the query text and
 * each hit's content are what gets encoded.
 */
export function rerankCandidates(
  encoder: RerankEncoder,
  lists: readonly CandidateList[],
  options: Omit<RerankOptions, 'queries' | 'passages' | 'missingText'> = {},
): Promise<Run> {
  const run: Run = new Map();
  const queries = new Map<string, string>();
  const passages = new Map<string, string>();
  for (const l of lists) {
    queries.set(l.qid, l.query);
    for (const h of l.hits) if (!passages.has(h.docid)) passages.set(h.docid, h.content);
    run.set(l.qid, { docids: l.hits.map((h) => h.docid), scores: l.hits.map((h) => h.score) });
  }
  return rerankRun(encoder, run, { ...options, queries, passages });
}
