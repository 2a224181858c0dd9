import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Matrix } from '../tensor/matrix.js';
import { quantizeEmbeddings, type QuantizationRanges } from '../tensor/quantize.js';
import { semanticSearch } from './semantic-search.js';
import { cosSim, dotScore, euclideanSim, manhattanSim, type ScoreFunction } from './similarity.js';
import { torchTopkIndices } from './torch-topk.js';

interface Stored {
  rows: number;
  dim: number;
  f32?: string;
  i8?: string;
  u8?: string;
}
const fx = JSON.parse(readFileSync(new URL('./fixtures/score.json', import.meta.url), 'utf8')) as {
  similarity: { name: string; a: Stored; b: Stored; scores: Record<string, Stored> }[];
  semantic_search: {
    name: string;
    queries: Stored;
    corpus: Stored;
    runs: { score_function: string; top_k: number; query_chunk_size: number; corpus_chunk_size: number; results: [number, number][][] }[];
    scores: Record<string, Stored>;
  }[];
  quantize: {
    name: string;
    embeddings: Stored;
    calibration_embeddings: Stored;
    runs: { precision: 'int8' | 'uint8' | 'binary' | 'ubinary'; ranges_from?: string; output: Stored; ranges?: Stored }[];
  }[];
  torch_topk: { kind: string; x: Stored; unsorted: number[][] }[];
};

function f32(m: Stored): Matrix {
  const b = Buffer.from(m.f32 as string, 'base64');
  const d = new Float32Array(m.rows * m.dim);
  for (let i = 0; i < d.length; i++) d[i] = b.readFloatLE(i * 4);
  return new Matrix(m.rows, m.dim, d);
}

function bytes(m: Stored): number[] {
  const b = Buffer.from((m.i8 ?? m.u8) as string, 'base64');
  return m.i8 !== undefined ? Array.from(new Int8Array(b.buffer, b.byteOffset, b.length)) : Array.from(b);
}

const FUNCS: Record<string, ScoreFunction> = { cos_sim: cosSim, dot_score: dotScore, euclidean_sim: euclideanSim, manhattan_sim: manhattanSim };

test('dotScore, cosSim, euclideanSim, manhattanSim match sentence_transformers.util', () => {
  for (const c of fx.similarity) {
    for (const [name, want] of Object.entries(c.scores)) {
      const fn = FUNCS[name];
      assert.ok(fn !== undefined, name);
      const got = fn(f32(c.a), f32(c.b));
      const w = f32(want);
      assert.equal(got.rows, w.rows);
      for (let i = 0; i < w.data.length; i++) {
        const tol = 1e-5 * Math.max(1, Math.abs(w.data[i] as number));
        assert.ok(Math.abs((got.data[i] as number) - (w.data[i] as number)) <= tol, `${c.name} ${name}[${i}]: ${got.data[i]} vs ${w.data[i]}`);
      }
    }
  }
});

test('semanticSearch returns the same hits, in the same order, ties included, as sentence-transformers', () => {
  let exact = 0;
  let blasDiffers = 0;
  for (const c of fx.semantic_search) {
    const q = f32(c.queries);
    const corpus = f32(c.corpus);
    for (const r of c.runs) {
      const fn = FUNCS[r.score_function] as ScoreFunction;
      const got = semanticSearch(q, corpus, {
        topK: r.top_k,
        queryChunkSize: r.query_chunk_size,
        corpusChunkSize: r.corpus_chunk_size,
        scoreFunction: fn,
      });
      const label = `${c.name} ${r.score_function} k=${r.top_k} q=${r.query_chunk_size} c=${r.corpus_chunk_size}`;
      const all = fn(q, corpus);
      got.forEach((hits, i) => {
        const want = r.results[i] as [number, number][];
        assert.equal(hits.length, want.length, label);
        // Every hit carries its own score, and the hits come best first.
        hits.forEach((h, j) => {
          assert.equal(h.score, all.get(i, h.corpusId), label);
          if (j > 0) assert.ok(h.score <= (hits[j - 1] as { score: number }).score, label);
        });
        // topk and the heap only compare scores, so when torch's table orders every pair of corpus rows as ours
        // does, the result must be identical. That is known for one-chunk runs (torch's table is recorded);
        // chunked runs go through other BLAS shapes, which may round tied copies 1 ulp apart.
        const torchRow = f32(c.scores[r.score_function] as Stored).row(i);
        const sameOrder =
          r.corpus_chunk_size >= corpus.rows &&
          Array.from(torchRow).every((a, j) => Array.from(torchRow).every((b, k) => Math.sign(a - b) === Math.sign(all.get(i, j) - all.get(i, k))));
        if (sameOrder) {
          // Where torch computed the very same float32 scores, the tie order must be identical.
          assert.deepEqual(
            hits.map((h) => h.corpusId),
            want.map(([id]) => id),
            label,
          );
          exact++;
        } else {
          // No other implementation reproduces those roundings; the scores must still agree to float32 precision.
          hits.forEach((h, j) => assert.ok(Math.abs(h.score - (want[j] as [number, number])[1]) <= 1e-6 * Math.max(1, Math.abs(h.score)), label));
          blasDiffers++;
        }
      });
    }
  }
  assert.ok(exact >= 100, `only ${exact} query results compared exactly (${blasDiffers} differed by BLAS rounding)`);
  
});

test('torch.topk(sorted=False) index order is reproduced, ties included', () => {
  for (const c of fx.torch_topk) {
    const x = f32(c.x);
    for (let r = 0; r < x.rows; r++) {
      const want = c.unsorted[r] as number[];
      const got = Array.from(torchTopkIndices(Float64Array.from(x.row(r)), want.length));
      assert.deepEqual(got, want, `${c.kind} row ${r}`);
    }
  }
});

test('quantizeEmbeddings matches quantize_embeddings bit for bit (int8, uint8, binary, ubinary; all range sources)', () => {
  for (const c of fx.quantize) {
    const emb = f32(c.embeddings);
    for (const r of c.runs) {
      let opts: { ranges?: QuantizationRanges; calibrationEmbeddings?: Matrix } = {};
      if (r.ranges_from === 'calibration_embeddings') opts = { calibrationEmbeddings: f32(c.calibration_embeddings) };
      else if (r.ranges_from?.startsWith('ranges') === true) {
        const rm = f32(r.ranges as Stored);
        const wide = r.ranges_from === 'ranges-float64';
        opts = {
          ranges: wide ? { min: Float64Array.from(rm.row(0)), max: Float64Array.from(rm.row(1)) } : { min: rm.row(0), max: rm.row(1) },
        };
      }
      const got = quantizeEmbeddings(emb, r.precision, opts);
      assert.equal(got.dim, r.output.dim, `${c.name} ${r.precision}`);
      assert.deepEqual(Array.from(got.data), bytes(r.output), `${c.name} ${r.precision} ${r.ranges_from ?? ''}`);
    }
  }
});

test('bad shapes and arguments are coded errors', () => {
  assert.throws(() => dotScore(new Matrix(1, 3), new Matrix(1, 4)), { code: 'SHAPE_MISMATCH' });
  assert.throws(() => semanticSearch(new Matrix(1, 3), new Matrix(2, 3), { topK: 0 }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => semanticSearch(new Matrix(1, 3), new Matrix(2, 4)), { code: 'SHAPE_MISMATCH' });
  assert.throws(() => quantizeEmbeddings(new Matrix(1, 3), 'int8', { ranges: { min: new Float32Array(2), max: new Float32Array(2) } }), {
    code: 'QUANTIZATION_INVALID',
  });
});
