import { SemsearchError } from '../errors.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import type { Matrix } from '../tensor/matrix.js';
import { seededRandom } from '../tensor/random.js';
import { TopK } from '../store/top-k.js';


/**
 * Hard-negative mining with sentence-transformers' `mine_hard_negatives` semantics (sentence_transformers.util): embed
 * the anchors and a corpus (the positives, plus any texts given), take each anchor's closest passages, optionally
 * rescore them with a cross-encoder, drop the positives and those too close to them (margins, max_score) or too far
 * (min_score), skip the first `rangeMin`, and keep `numNegatives`. The rows come out in the formats
 * sentence-transformers trains on. With sampling 'top' the rows equal Python's (tested on a fixture it generated).
 */

export type MineOutputFormat = 'triplet' | 'n-tuple' | 'labeled-pair' | 'labeled-list';
export const MINE_OUTPUT_FORMATS: readonly MineOutputFormat[] = ['triplet', 'n-tuple', 'labeled-pair', 'labeled-list'];
export type MineSampling = 'top' | 'random';

/** What mining needs of a cross-encoder; a loaded CrossEncoder fits as is. */
export interface MineCrossEncoder {
  predict(pairs: readonly (readonly [string, string])[], options?: { batchSize?: number }): Promise<{ data: Float32Array }>;
}

export interface MineOptions {
  /** More candidate negatives besides the positives (the `corpus` argument). */
  corpus?: readonly string[];
  /** Rescores the candidates and positives when a margin or maxScore is set (as in Python). */
  crossEncoder?: MineCrossEncoder;
  rangeMin?: number;
  rangeMax?: number;
  maxScore?: number;
  minScore?: number;
  absoluteMargin?: number;
  relativeMargin?: number;
  numNegatives?: number;
  /** 'top' (default): the best candidates; 'random': a seeded sample of the candidates left (not Python's random stream). */
  samplingStrategy?: MineSampling;
  seed?: number;
  queryPrompt?: string;
  queryPromptName?: string;
  corpusPrompt?: string;
  corpusPromptName?: string;
  /** Keep the positives among the candidates (forces 'n-tuple', as in Python). */
  includePositives?: boolean;
  outputFormat?: MineOutputFormat;
  outputScores?: boolean;
  batchSize?: number;
  /** Column names of the rows (default 'anchor' and 'positive'; Python takes the dataset's first two). */
  anchorColumn?: string;
  positiveColumn?: string;
  onProgress?: (p: { phase: 'corpus' | 'queries' | 'rescoring'; done: number; total: number }) => void;
}

export interface MineResult {
  columns: string[];
  rows: Record<string, unknown>[];
  /** The range_max used (derived when not given). */
  rangeMax: number;
  /** Candidates each filter removed, as Python's verbose report counts them. */
  skipped: Partial<Record<'absoluteMargin' | 'relativeMargin' | 'maxScore' | 'minScore', number>>;
  /** Rows the format could have had that found too few negatives. */
  missing: number;
  uniqueQueries: number;
  corpusSize: number;
}

const NEG_INF = Number.NEGATIVE_INFINITY;
/** Queries scored against the corpus at once. */
const QUERY_CHUNK = 256;

const f32 = Math.fround;

function bad(field: string, message: string): never {
  throw new SemsearchError('INVALID_ARGUMENT', message, { field });
}

/** A row's `k` best columns, best first: indices and scores (equal scores, -inf included: the lower index first). */
function topK(row: Float32Array, k: number): { idx: Int32Array; val: Float32Array } {
  const top = new TopK(k);
  for (let i = 0; i < row.length; i++) top.push(row[i] as number, i);
  const best = top.sorted();
  return { idx: Int32Array.from(best, (b) => b.row), val: Float32Array.from(best, (b) => b.score) };
}

/** sentence-transformers' similarity_pairwise on float32 rows: cosine (normalised first) or dot. */
function pairwise(a: Float32Array, b: Float32Array, cosine: boolean): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  // torch.nn.functional.normalize divides by max(norm, 1e-12).
  return f32(cosine ? dot / (Math.max(Math.sqrt(na), 1e-12) * Math.max(Math.sqrt(nb), 1e-12)) : dot);
}

export async function mineHardNegatives(model: SentenceTransformer, anchorsIn: readonly string[], positivesIn: readonly string[], options: MineOptions = {}): Promise<MineResult> {
  if (anchorsIn.length === 0) throw new SemsearchError('EMPTY_INPUT', 'the dataset is empty: give (anchor, positive) pairs', { field: 'pairs' });
  if (anchorsIn.length !== positivesIn.length) throw new SemsearchError('SHAPE_MISMATCH', `${anchorsIn.length} anchors but ${positivesIn.length} positives`, { field: 'pairs' });
  const numNegatives = options.numNegatives ?? 3;
  if (!Number.isInteger(numNegatives) || numNegatives < 1) bad('numNegatives', `numNegatives must be at least 1, got ${numNegatives}`);
  const includePositives = options.includePositives === true;
  let format = options.outputFormat ?? 'triplet';
  if (!MINE_OUTPUT_FORMATS.includes(format)) bad('outputFormat', `outputFormat must be one of ${MINE_OUTPUT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  // As Python: the ranking order of included positives survives only in n-tuples.
  if (includePositives) format = 'n-tuple';
  const sampling = options.samplingStrategy ?? 'top';
  if (sampling !== 'top' && sampling !== 'random') bad('samplingStrategy', `samplingStrategy must be "top" or "random", got ${JSON.stringify(sampling)}`);
  const anchorCol = options.anchorColumn ?? 'anchor';
  const positiveCol = options.positiveColumn ?? 'positive';
  const { absoluteMargin, relativeMargin, maxScore, minScore } = options;
  const rangeMin = options.rangeMin ?? 0;

  // Rows per anchor (pandas groupby count: repeated pairs count twice).
  const perAnchor = new Map<string, number>();
  for (const a of anchorsIn) perAnchor.set(a, (perAnchor.get(a) ?? 0) + 1);
  const maxPositives = Math.max(...perAnchor.values());
  const filtered = absoluteMargin !== undefined || relativeMargin !== undefined || maxScore !== undefined;
  const rangeMax = options.rangeMax ?? rangeMin + (filtered ? numNegatives * 10 : numNegatives) + maxPositives;
  if (!Number.isInteger(rangeMin) || rangeMin < 0) bad('rangeMin', `rangeMin must be a non-negative integer, got ${rangeMin}`);
  if (!Number.isInteger(rangeMax) || rangeMin >= rangeMax) bad('rangeMax', `rangeMin must be smaller than rangeMax, got rangeMin=${rangeMin} and rangeMax=${rangeMax}`);
  if (numNegatives > rangeMax - rangeMin) {
    bad('numNegatives', `cannot mine ${numNegatives} negatives per query: only ${rangeMax - rangeMin} candidates remain after skipping the first rangeMin=${rangeMin} of rangeMax=${rangeMax}`);
  }

  // The corpus: the given texts then the positives, each text once, in first-seen order (dict.fromkeys).
  const corpus = [...new Set([...(options.corpus ?? positivesIn), ...positivesIn])];
  const corpusIdx = new Map(corpus.map((t, i) => [t, i]));
  const queries = [...new Set(anchorsIn)];
  const queriesIdx = new Map(queries.map((q, i) => [q, i]));
  const batchSize = options.batchSize ?? 32;
  const prompt = (p: string | undefined, name: string | undefined): { prompt?: string; promptName?: string } => ({ ...(p !== undefined ? { prompt: p } : {}), ...(name !== undefined ? { promptName: name } : {}) });
  const corpusEmb: Matrix = await model.encodeDocument(corpus, {
    batchSize,
    normalize: true,
    ...prompt(options.corpusPrompt, options.corpusPromptName),
    onProgress: (p) => options.onProgress?.({ phase: 'corpus', ...p }),
  });
  const queryEmb: Matrix = await model.encodeQuery(queries, { batchSize, normalize: true, ...prompt(options.queryPrompt, options.queryPromptName), onProgress: (p) => options.onProgress?.({ phase: 'queries', ...p }) });

  const width = rangeMax + maxPositives;
  const k = Math.min(width, corpus.length);
  // Queries a chunk at a time, as Python's faiss_batch_size does: never the whole queries × corpus matrix at once.
  const first: { idx: Int32Array; val: Float32Array }[] = [];
  for (let a = 0; a < queries.length; a += QUERY_CHUNK) {
    const sim = model.similarity(queryEmb.slice(a, Math.min(queries.length, a + QUERY_CHUNK)), corpusEmb);
    for (let r = 0; r < sim.rows; r++) first.push(topK(sim.row(r), k));
  }
  // Padded up to range_max + max_positives with index -1, as Python does when the corpus is small.
  const indices: Int32Array[] = first.map(({ idx }) => {
    const r = new Int32Array(width).fill(-1);
    r.set(idx);
    return r;
  });
  const scores: Float32Array[] = first.map(({ val }) => {
    const r = new Float32Array(width).fill(NEG_INF);
    r.set(val);
    return r;
  });

  const positiveIndices: number[][] = queries.map(() => []);
  anchorsIn.forEach((a, i) => {
    const list = positiveIndices[queriesIdx.get(a) as number] as number[];
    const p = corpusIdx.get(positivesIn[i] as string) as number;
    if (!list.includes(p)) list.push(p);
  });
  const nPositives = positiveIndices.map((p) => p.length);
  const positives: string[] = [];
  const allQueries: string[] = [];
  positiveIndices.forEach((list, q) => {
    for (const p of list) {
      positives.push(corpus[p] as string);
      allQueries.push(queries[q] as string);
    }
  });
  const cosine = model.similarityFnName === 'cosine';
  let positiveScores = Float32Array.from(
    positiveIndices.flatMap((list, q) => list.map((p) => [q, p] as const)),
    ([q, p]) => pairwise(queryEmb.row(q), corpusEmb.row(p), cosine),
  );

  if (options.crossEncoder !== undefined && filtered) {
    const ce = options.crossEncoder;
    for (let q = 0; q < queries.length; q++) {
      const row = indices[q] as Int32Array;
      // Python scores index -1 as the last corpus text, then sets it to -inf below: the same scores, without the runs.
      const live = Array.from(row).map((i, j) => [i, j] as const).filter(([i]) => i >= 0);
      const pred = (await ce.predict(live.map(([i]) => [queries[q] as string, corpus[i] as string] as [string, string]), { batchSize })).data;
      live.forEach(([, j], n) => ((scores[q] as Float32Array)[j] = pred[n] as number));
      options.onProgress?.({ phase: 'rescoring', done: q + 1, total: queries.length });
    }
    positiveScores = Float32Array.from((await ce.predict(allQueries.map((q, i) => [q, positives[i] as string] as [string, string]), { batchSize })).data);
  }
  indices.forEach((row, q) => row.forEach((i, j) => i === -1 && ((scores[q] as Float32Array)[j] = NEG_INF)));
  if (!includePositives) {
    indices.forEach((row, q) => row.forEach((i, j) => (positiveIndices[q] as number[]).includes(i) && ((scores[q] as Float32Array)[j] = NEG_INF)));
  }

  const skipped: MineResult['skipped'] = {};
  const drop = (name: keyof MineResult['skipped'], test: (s: number, q: number) => boolean): void => {
    let n = 0;
    scores.forEach((row, q) =>
      row.forEach((s, j) => {
        if (test(s, q)) {
          row[j] = NEG_INF;
          n++;
        }
      }),
    );
    if (n > 0) skipped[name] = n;
  };
  if (absoluteMargin !== undefined || relativeMargin !== undefined) {
    // The hardest (lowest-scored) positive of each query sets the margin.
    const minPositive = new Float32Array(queries.length);
    let at = 0;
    nPositives.forEach((n, q) => {
      minPositive[q] = Math.min(...positiveScores.subarray(at, at + n));
      at += n;
    });
    // torch arithmetic: the Python number becomes float32, and every step rounds to float32.
    if (absoluteMargin !== undefined) drop('absoluteMargin', (s, q) => f32(s + f32(absoluteMargin)) > (minPositive[q] as number));
    if (relativeMargin !== undefined) {
      const threshold = Float32Array.from(minPositive, (p) => f32(p - f32(Math.abs(p) * f32(relativeMargin))));
      drop('relativeMargin', (s, q) => s > (threshold[q] as number));
    }
  }
  if (maxScore !== undefined) drop('maxScore', (s) => s > f32(maxScore));
  if (minScore !== undefined) drop('minScore', (s) => s < f32(minScore));

  const second = scores.map((row) => topK(row, rangeMax));
  let negIdx = second.map(({ idx }, q) => Int32Array.from(idx, (j) => (indices[q] as Int32Array)[j] as number).subarray(rangeMin));
  let negScores = second.map(({ val }) => val.subarray(rangeMin));
  if (sampling === 'top') {
    negIdx = negIdx.map((r) => r.subarray(0, numNegatives));
    negScores = negScores.map((r) => r.subarray(0, numNegatives));
  } else {
    // As Python: numNegatives of the candidates that are not -inf (of the first numNegatives when fewer are left), best
    // first. The draw is semsearch's own, seeded (mulberry32): Python's random stream is not reproduced.
    const random = seededRandom(options.seed ?? 0);
    const picked = negScores.map((r) => {
      const n = Math.max(numNegatives, r.length - r.filter((s) => s === NEG_INF).length);
      const pool = Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < numNegatives; i++) {
        const j = i + Math.floor(random() * (n - i));
        [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
      }
      return pool.slice(0, numNegatives).sort((a, b) => (r[a] === r[b] ? a - b : (r[b] as number) > (r[a] as number) ? 1 : -1));
    });
    negIdx = negIdx.map((r, q) => Int32Array.from(picked[q] as number[], (j) => r[j] as number));
    negScores = negScores.map((r, q) => Float32Array.from(picked[q] as number[], (j) => r[j] as number));
  }

  const rows: Record<string, unknown>[] = [];
  let columns: string[];
  let missing = 0;
  if (format === 'triplet') {
    columns = [anchorCol, positiveCol, 'negative', ...(options.outputScores === true ? ['scores'] : [])];
    let at = 0;
    positiveIndices.forEach((list, q) => {
      for (const p of list) {
        const posScore = positiveScores[at++] as number;
        (negIdx[q] as Int32Array).forEach((n, j) => {
          const s = (negScores[q] as Float32Array)[j] as number;
          if (s === NEG_INF) {
            missing++;
            return;
          }
          rows.push({ [anchorCol]: queries[q], [positiveCol]: corpus[p], negative: corpus[n], ...(options.outputScores === true ? { scores: [posScore, s] } : {}) });
        });
      }
    });
  } else if (format === 'labeled-pair') {
    const label = options.outputScores === true ? 'score' : 'label';
    columns = [anchorCol, positiveCol, label];
    let at = 0;
    positiveIndices.forEach((list, q) => {
      for (const p of list) {
        rows.push({ [anchorCol]: queries[q], [positiveCol]: corpus[p], [label]: options.outputScores === true ? (positiveScores[at] as number) : 1 });
        at++;
      }
      (negIdx[q] as Int32Array).forEach((n, j) => {
        const s = (negScores[q] as Float32Array)[j] as number;
        if (s === NEG_INF) {
          missing++;
          return;
        }
        rows.push({ [anchorCol]: queries[q], [positiveCol]: corpus[n], [label]: options.outputScores === true ? s : 0 });
      });
    });
  } else {
    const nTuple = format === 'n-tuple';
    columns = nTuple
      ? [anchorCol, positiveCol, ...Array.from({ length: negIdx[0]?.length ?? numNegatives }, (_, i) => `negative_${i + 1}`), ...(options.outputScores === true ? ['scores'] : [])]
      : [anchorCol, positiveCol, options.outputScores === true ? 'scores' : 'labels'];
    let at = 0;
    positiveIndices.forEach((list, q) => {
      for (const p of list) {
        const posScore = positiveScores[at++] as number;
        const keep = Array.from(negScores[q] as Float32Array, (s) => s !== NEG_INF);
        const negs = Array.from(negIdx[q] as Int32Array);
        if (nTuple) {
          if (!keep.every(Boolean)) {
            missing++;
            continue;
          }
          const row: Record<string, unknown> = { [anchorCol]: queries[q], [positiveCol]: corpus[p] };
          negs.forEach((n, i) => (row[`negative_${i + 1}`] = corpus[n]));
          if (options.outputScores === true) row['scores'] = [posScore, ...Array.from(negScores[q] as Float32Array)];
          rows.push(row);
          continue;
        }
        if (!keep.some(Boolean)) {
          missing++;
          continue;
        }
        const docs = [corpus[p], ...negs.filter((_, i) => keep[i]).map((n) => corpus[n])];
        const kept = Array.from(negScores[q] as Float32Array).filter((_, i) => keep[i]);
        rows.push({ [anchorCol]: queries[q], [positiveCol]: docs, ...(options.outputScores === true ? { scores: [posScore, ...kept] } : { labels: [1, ...kept.map(() => 0)] }) });
      }
    });
  }
  return { columns, rows, rangeMax, skipped, missing, uniqueQueries: queries.length, corpusSize: corpus.length };
}
