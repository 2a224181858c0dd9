import { resolvePrompt } from '../encoder/encode.js';
import { isSemsearchError, SemsearchError, throwIfCancelled, type CancelSignal, type ErrorCode } from '../errors.js';
import { allAborted, flagSignal } from './cancel.js';
import type { IndexHit, Searcher, SearchOptions } from '../store/searcher.js';
import type { Served } from './served.js';
import type { CrossEncoder } from '../encoder/cross-encoder.js';
import { rerankHits } from '../rerank/rerank-hits.js';
import type { WriteDocument } from '../store/write-index.js';
import { normalizeRows } from '../encoder/normalize.js';
import { Matrix } from '../tensor/matrix.js';
import { quantizeEmbeddings, type Precision } from '../tensor/quantize.js';

/**
 * How a request's work is stopped: `cancel`, a cell of shared memory the HTTP thread sets when the client hangs up or
 * the deadline passes (cancel.ts); `timeoutMs`, the deadline the request asked for (the server's is the most).
 */
export interface JobControl {
  cancel?: Int32Array;
  timeoutMs?: number;
}

/** One request's work, as the HTTP layer validated it. Texts are counted for batch sizes by `jobTexts`. */
export type Job = JobControl & JobWork;

type JobWork =
  /** `rerank`: retrieve `depth` hits, re-rank them with the worker's cross-encoder, keep offset + k. */
  | { kind: 'search'; queries: string[]; k: number; offset?: number; options?: JobSearchOptions; rerank?: { depth: number } }
  /** text-embeddings-inference's /rerank: every text scored with the query by the cross-encoder. */
  | { kind: 'rerank'; query: string; texts: string[]; raw: boolean; truncate: boolean }
  /** `promptName`: one of the model's prompts (text-embeddings-inference's prompt_name); absent: as model.encode. */
  | { kind: 'encode'; texts: string[]; precision: Precision; normalize?: boolean; promptName?: string }
  | { kind: 'similarity'; queries: string[]; passages: string[] }
  | { kind: 'upsert'; documents: WriteDocument[] }
  /**
   * Embeddings for the OpenAI and text-embeddings-inference routes: texts (no prompt, as /encode) or token id
   * lists; `truncate: false` refuses a text longer than the model reads instead of cutting it.
   */
  | { kind: 'embed'; texts?: string[]; tokenIds?: number[][]; normalize: boolean; truncate: boolean; promptName?: string }
  | { kind: 'delete'; ids: string[] };

/** A search's options; `oversample` is the OpenSearch backend's (a local index has every vector at hand and ignores it). */
export type JobSearchOptions = SearchOptions & { oversample?: number };

/** Milliseconds one batch spent per stage in a worker, for /metrics. */
export interface StageTimings {
  /** Tokenizing: for the model, and counting tokens for the response. */
  tokenizeMs: number;
  /** The transformer runs. */
  inferenceMs: number;
  /** Scoring vectors (and keyword ranking) for search jobs. */
  searchMs: number;
  /** Reading the hits' passages from the document store. */
  fetchMs: number;
  /** The cross-encoder's runs (tokenizing included). */
  rerankMs: number;
}

export function emptyStages(): StageTimings {
  return { tokenizeMs: 0, inferenceMs: 0, searchMs: 0, fetchMs: 0, rerankMs: 0 };
}

export type JobResult = { ok: true; value: Record<string, unknown> } | { ok: false; error: { code: ErrorCode; message: string; field?: string } };

export function jobTexts(job: Job): number {
  switch (job.kind) {
    case 'similarity':
      return job.queries.length + job.passages.length;
    case 'search':
      return job.queries.length;
    case 'rerank':
      return job.texts.length;
    case 'encode':
      return job.texts.length;
    case 'embed':
      return job.texts?.length ?? job.tokenIds?.length ?? 0;
    case 'upsert':
      return job.documents.length;
    case 'delete':
      return 1;
  }
}

/** How long a server write waits for another writer (a CLI add, another worker's write) before INDEX_LOCKED. */
const WRITE_WAIT_MS = 30_000;

type Role = 'query' | 'document';

/** Group key of /encode and embed texts: their prompt name, or none (model.encode's default_prompt_name). */
const DEFAULT_PROMPT = '\u0000default';

/** The prompt text a plain encode with this group key applies; an unknown name is the request's INVALID_ARGUMENT. */
function namedPrompt(index: Searcher, key: string): string {
  if (key === DEFAULT_PROMPT) return resolvePrompt(index.model.config, {}) ?? '';
  const prompts = index.model.config.prompts;
  if (prompts[key] === undefined) {
    throw new SemsearchError('INVALID_ARGUMENT', `prompt_name ${JSON.stringify(key)} is not one of the model's prompts (${Object.keys(prompts).join(', ')})`, { field: 'prompt_name' });
  }
  return resolvePrompt(index.model.config, { promptName: key }) ?? '';
}

/**
 * Search jobs of a batch with the same settings, run as one search: one scan serves every query of the batch (the
 * kernels' many-query path), where one scan per request would read the vectors once per request. A query's hits do
 * not depend on the others, so each job gets what its own search would give. If the joint search fails, each job
 * is searched alone (and fails alone).
 */
async function searchTogether(
  index: Searcher,
  jobs: readonly Job[],
  at: readonly { q: number }[],
  queryEmbeddings: Matrix | undefined,
  timings: { searchMs: number; fetchMs: number },
): Promise<Map<number, IndexHit[][]>> {
  const out = new Map<number, IndexHit[][]>();
  if (queryEmbeddings === undefined) return out;
  type Member = { i: number; job: Extract<Job, { kind: 'search' }>; q: number };
  const bySettings = new Map<string, Member[]>();
  jobs.forEach((job, i) => {
    const q = (at[i] as { q: number }).q;
    // Re-ranked searches ask for their own depth and are re-scored one by one.
    if (job.kind !== 'search' || q < 0 || job.rerank !== undefined) return;
    const key = JSON.stringify(job.options ?? {});
    bySettings.set(key, [...(bySettings.get(key) ?? []), { i, job, q }]);
  });
  const dim = queryEmbeddings.dim;
  for (const members of bySettings.values()) {
    if (members.length < 2) continue;
    // Each job's query rows, gathered: other jobs' texts may lie between them in the batch's encode output.
    const emb = new Matrix(members.reduce((n, m) => n + m.job.queries.length, 0), dim);
    let row = 0;
    for (const { job, q } of members) {
      emb.data.set(queryEmbeddings.data.subarray(q * dim, (q + job.queries.length) * dim), row * dim);
      row += job.queries.length;
    }
    const k = Math.max(...members.map((m) => (m.job.offset ?? 0) + m.job.k));
    let hits: IndexHit[][];
    try {
      const signal = allAborted(members.map((m) => (m.job.cancel !== undefined ? flagSignal(m.job.cancel) : undefined)));
      hits = await index.searchEncoded(members.flatMap((m) => m.job.queries), emb, k, { ...(members[0]?.job.options ?? {}), timings, ...(signal !== undefined ? { signal } : {}) });
    } catch {
      continue;
    }
    row = 0;
    for (const { i, job } of members) {
      out.set(i, hits.slice(row, row + job.queries.length).map((h) => h.slice(0, (job.offset ?? 0) + job.k)));
      row += job.queries.length;
    }
  }
  return out;
}

function crossEncoderOf(served: Served): CrossEncoder {
  if (served.crossEncoder === undefined) {
    throw new SemsearchError('INVALID_ARGUMENT', 'this server has no cross-encoder to re-rank with: start it with --cross-encoder <model>', { field: 'rerank' });
  }
  return served.crossEncoder;
}

/**
 * text-embeddings-inference's /rerank: each text scored with the query, best first, as `{index, score}`. Scores pass
 * through the model's activation unless `raw`; a pair longer than the model reads is refused unless `truncate`.
 */
async function rerankTexts(served: Served, j: Extract<Job, { kind: 'rerank' }>, stages: StageTimings, signal: CancelSignal | undefined): Promise<Record<string, unknown>> {
  const ce = crossEncoderOf(served);
  const t0 = performance.now();
  try {
    if (!j.truncate) {
      const tok = ce.tokenizer;
      const long = j.texts.findIndex((t) => tok.tokenize(j.query, ce.maxLength + 1).length + tok.tokenize(t, ce.maxLength + 1).length + tok.numPairSpecialTokens > ce.maxLength);
      if (long >= 0) {
        throw new SemsearchError('LIMIT_EXCEEDED', `the query with text ${long} is longer than the ${ce.maxLength} tokens the model reads; send truncate: true to cut it as sentence-transformers does`, { field: `texts[${long}]` });
      }
    }
    const scores = (await ce.predict(
      j.texts.map((t): [string, string] => [j.query, t]),
      { ...(j.raw ? { activation: 'identity' as const } : {}), ...(signal !== undefined ? { signal } : {}) },
    )).data;
    const ranks = j.texts.map((_, index) => ({ index, score: scores[index] as number }));
    ranks.sort((a, b) => b.score - a.score || a.index - b.index);
    return { ranks };
  } finally {
    stages.rerankMs += performance.now() - t0;
  }
}

/** An embed job's answer: the rows as one Float32Array (cheap to post between threads), their dim and token counts. */
async function embedResult(
  index: Searcher,
  j: Extract<Job, { kind: 'embed' }>,
  encoded: Matrix | undefined,
  prompt: string,
  stages: StageTimings,
  signal: CancelSignal | undefined,
): Promise<Record<string, unknown>> {
  let emb: Matrix;
  let tokens: number[];
  if (j.tokenIds !== undefined) {
    const timings = { tokenizeMs: 0, inferenceMs: 0 };
    const r = await index.model.encodeTokenIds(j.tokenIds, { timings, ...(signal !== undefined ? { signal } : {}) });
    stages.inferenceMs += timings.inferenceMs;
    emb = r.embeddings;
    tokens = r.tokens;
  } else {
    const t0 = performance.now();
    const counted = tokenCounts(index, prompt, j.texts ?? []);
    stages.tokenizeMs += performance.now() - t0;
    const long = counted.truncated.indexOf(true);
    if (!j.truncate && long >= 0) {
      throw new SemsearchError(
        'LIMIT_EXCEEDED',
        `input ${long} has more than the ${index.model.maxSeqLength} tokens the model reads; send truncate: true to cut it as sentence-transformers does`,
        { field: `inputs[${long}]` },
      );
    }
    emb = new Matrix((encoded as Matrix).rows, (encoded as Matrix).dim, Float32Array.from((encoded as Matrix).data));
    tokens = counted.tokens;
  }
  if (j.normalize) normalizeRows(emb);
  return { data: emb.data, dim: emb.dim, tokens };
}

class RoleGroup {
  readonly texts: string[] = [];
  out: Matrix | undefined;
  add(list: readonly string[]): number {
    const at = this.texts.length;
    this.texts.push(...list);
    return at;
  }
}

function tokenCounts(index: Searcher, prompt: string, texts: readonly string[]): { tokens: number[]; truncated: boolean[] } {
  const tok = index.model.tokenizer;
  const max = index.model.maxSeqLength;
  const tokens = texts.map((t) => tok.tokenize(prompt + t).length + tok.numSpecialTokens);
  return { tokens, truncated: tokens.map((n) => n > max) };
}

function rows(m: Matrix, start: number, n: number): Matrix {
  return m.slice(start, start + n);
}

function failure(e: unknown, log: (line: string) => void): JobResult {
  if (isSemsearchError(e)) return { ok: false, error: { code: e.code, message: e.message, ...(e.field !== undefined ? { field: e.field } : {}) } };
  log(`semsearch serve: job failed: ${(e as Error)?.stack ?? String(e)}`);
  return { ok: false, error: { code: 'INTERNAL_ERROR', message: 'the model failed on this request; the failure is logged on the server' } };
}

/**
 * Answer a batch of jobs with one encode call per prompt role, however many requests the batch holds:
 * that is where dynamic batching saves time, since one ONNX run over 32 texts costs far less than 32 runs.
 * A failing batch is retried job by job so one bad request cannot fail the others.
 */
export async function runBatch(served: Served, jobs: readonly Job[], log: (line: string) => void = console.error, stages: StageTimings = emptyStages()): Promise<JobResult[]> {
  try {
    return await runTogether(served, jobs, log, stages);
  } catch (e) {
    if (jobs.length === 1) return [failure(e, log)];
    const out: JobResult[] = [];
    for (const j of jobs) {
      try {
        out.push(...(await runTogether(served, [j], log, stages)));
      } catch (e1) {
        out.push(failure(e1, log));
      }
    }
    return out;
  }
}

async function runTogether(served: Served, jobs: readonly Job[], log: (line: string) => void, stages: StageTimings): Promise<JobResult[]> {
  const index = served.index;
  const model = index.model;
  const groups: Record<Role, RoleGroup> = { query: new RoleGroup(), document: new RoleGroup() };
  // Plain encodes, one group per prompt name: one encode call each, however many requests share it.
  const named = new Map<string, RoleGroup>();
  const plain = (j: { promptName?: string }): RoleGroup => {
    const key = j.promptName ?? DEFAULT_PROMPT;
    let g = named.get(key);
    if (g === undefined) named.set(key, (g = new RoleGroup()));
    return g;
  };
  const at = jobs.map((j) => {
    // Writes encode their own documents, inside the write; keyword search needs no embeddings.
    if (j.kind === 'upsert' || j.kind === 'delete' || j.kind === 'rerank') return { q: -1, p: 0 };
    if (j.kind === 'search') return { q: j.options?.mode === 'keyword' ? -1 : groups.query.add(j.queries), p: 0 };
    if (j.kind === 'similarity') return { q: groups.query.add(j.queries), p: groups.document.add(j.passages) };
    if (j.kind === 'embed') return { q: j.texts !== undefined ? plain(j).add(j.texts) : -1, p: 0 };
    return { q: plain(j).add(j.texts), p: 0 };
  });
  const batchSize = 32;
  const timings = { tokenizeMs: 0, inferenceMs: 0 };
  // Each job's stop signal; the batch's encoding is shared, so it stops only when every job in it has been stopped.
  const signals = jobs.map((j) => (j.cancel !== undefined ? flagSignal(j.cancel) : undefined));
  const shared = allAborted(signals);
  const encodeOptions = { batchSize, timings, ...(shared !== undefined ? { signal: shared } : {}) };
  // The index's own prompts: queries match the documents it holds, whatever prompt names it was built with.
  const prompts: Record<Role, string> = index.prompts;
  const plainPrompts = new Map<string, string>();
  for (const key of named.keys()) plainPrompts.set(key, namedPrompt(index, key));
  if (groups.query.texts.length > 0) groups.query.out = await model.encode(groups.query.texts, { ...encodeOptions, prompt: prompts.query });
  if (groups.document.texts.length > 0) groups.document.out = await model.encode(groups.document.texts, { ...encodeOptions, prompt: prompts.document });
  for (const [key, g] of named) g.out = await model.encode(g.texts, { ...encodeOptions, prompt: plainPrompts.get(key) as string });
  stages.tokenizeMs += timings.tokenizeMs;
  stages.inferenceMs += timings.inferenceMs;
  const searchTimings = { searchMs: 0, fetchMs: 0 };
  const { precision, ann: hasGraph } = served.summary;
  const remote = index.backend !== 'local';
  const together = await searchTogether(index, jobs, at, groups.query.out, searchTimings);

  const results: JobResult[] = [];
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i] as Job;
    const { q, p } = at[i] as { q: number; p: number };
    const signal = signals[i];
    try {
      // A write that has not started yet is dropped with the rest; one that has runs to its commit.
      throwIfCancelled(signal, 'the request');
      if (j.kind === 'upsert' || j.kind === 'delete') {
        const r = j.kind === 'upsert' ? await index.upsert(j.documents, { waitMs: WRITE_WAIT_MS }) : await index.delete(j.ids, { waitMs: WRITE_WAIT_MS });
        results.push({ ok: true, value: { generation: r.generation, added: r.added, replaced: r.replaced, deleted: r.deleted, live: r.live } });
      } else if (j.kind === 'embed') {
        results.push({ ok: true, value: await embedResult(index, j, q < 0 ? undefined : rows(plain(j).out as Matrix, q, j.texts?.length ?? 0), plainPrompts.get(j.promptName ?? DEFAULT_PROMPT) ?? '', stages, signal) });
      } else if (j.kind === 'rerank') {
        results.push({ ok: true, value: await rerankTexts(served, j, stages, signal) });
      } else if (j.kind === 'search') {
        const emb = q < 0 ? undefined : rows(groups.query.out as Matrix, q, j.queries.length);
        const offset = j.offset ?? 0;
        const ce = j.rerank === undefined ? undefined : crossEncoderOf(served);
        let hits: (IndexHit & { retrievalScore?: number })[][] =
          together.get(i) ??
          (await index.searchEncoded(j.queries, emb, Math.max(offset + j.k, j.rerank?.depth ?? 0), { ...j.options, timings: searchTimings, ...(signal !== undefined ? { signal } : {}) }));
        if (ce !== undefined) {
          const t0 = performance.now();
          try {
            hits = await rerankHits(ce, j.queries, hits, { k: offset + j.k, ...(signal !== undefined ? { signal } : {}) });
          } finally {
            stages.rerankMs += performance.now() - t0;
          }
        }
        const t0 = performance.now();
        const { tokens, truncated } = tokenCounts(index, prompts.query, j.queries);
        stages.tokenizeMs += performance.now() - t0;
        results.push({
          ok: true,
          value: {
            results: j.queries.map((query, qi) => ({
              query,
              tokens: tokens[qi],
              truncated: truncated[qi],
              hits: (hits[qi] ?? []).slice(offset).map((h) => ({
                id: h.id,
                score: h.score,
                ...(h.retrievalScore !== undefined ? { retrieval_score: h.retrievalScore } : {}),
                text: h.text,
                index: h.index,
                ...(h.metadata !== undefined ? { metadata: h.metadata } : {}),
                ...(h.chunk !== undefined ? { chunk: h.chunk } : {}),
              })),
            })),
            k: j.k,
            ...(offset > 0 ? { offset } : {}),
            precision,
            // OpenSearch: whether the cluster's candidates were rescored here; local: binary candidates with int8 rows.
            rescored: remote ? (j.options?.rescore ?? served.rescore) : precision === 'binary' && j.options?.rescore !== false && (!hasGraph || j.options?.exact === true),
            exact: !remote && (!hasGraph || j.options?.exact === true),
            ...(j.rerank !== undefined ? { reranked: { model: served.summary.crossEncoder?.model, depth: j.rerank.depth } } : {}),
          },
        });
      } else if (j.kind === 'encode') {
        let emb = rows(plain(j).out as Matrix, q, j.texts.length);
        // normalizeRows works in place and these rows are views into the shared batch output.
        if (j.normalize === true) emb = normalizeRows(new Matrix(emb.rows, emb.dim, Float32Array.from(emb.data)));
        const { tokens, truncated } = tokenCounts(index, plainPrompts.get(j.promptName ?? DEFAULT_PROMPT) as string, j.texts);
        const embeddings: number[][] = [];
        let dim = emb.dim;
        if (j.precision === 'float32') for (let r = 0; r < emb.rows; r++) embeddings.push(Array.from(emb.row(r)));
        else {
          // int8/uint8 ranges from the request's own few texts are degenerate: use the index's calibration when it has one.
          const stored = served.ranges;
          const ranges = stored !== undefined && (j.precision === 'int8' || j.precision === 'uint8') ? { min: Float32Array.from(stored.min), max: Float32Array.from(stored.max) } : undefined;
          const qm = quantizeEmbeddings(emb, j.precision, ranges !== undefined ? { ranges } : {});
          dim = qm.dim;
          for (let r = 0; r < qm.rows; r++) embeddings.push(Array.from(qm.data.subarray(r * qm.dim, (r + 1) * qm.dim)));
        }
        results.push({ ok: true, value: { embeddings, dim, precision: j.precision, tokens, truncated } });
      } else {
        const qe = rows(groups.query.out as Matrix, q, j.queries.length);
        const pe = rows(groups.document.out as Matrix, p, j.passages.length);
        const s = model.similarity(qe, pe);
        results.push({
          ok: true,
          value: {
            scores: s.toArray(),
            similarity: model.similarityFnName,
            truncated: { queries: tokenCounts(index, prompts.query, j.queries).truncated, passages: tokenCounts(index, prompts.document, j.passages).truncated },
          },
        });
      }
    } catch (e) {
      results.push(failure(e, log));
    }
  }
  stages.searchMs += searchTimings.searchMs;
  stages.fetchMs += searchTimings.fetchMs;
  return results;
}
