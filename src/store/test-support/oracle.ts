// A model-based test of the living index: random sequences of upsert, delete, compact, reopen and search, each
// search compared with a brute-force in-memory oracle over the live documents (vector exact and graph, filters,
// keyword BM25, hybrid). Seeded (src/tensor/random.ts) and shrinking: a failing sequence is cut down to a short one
// that still fails. Used by living-oracle.test.ts (a short run) and scripts/living-oracle.ts (a long one).
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeRows } from '../../encoder/normalize.js';
import type { SentenceTransformer } from '../../encoder/sentence-transformer.js';
import { Matrix } from '../../tensor/matrix.js';
import { seededRandom } from '../../tensor/random.js';
import { buildAnnIndex, MAX_EF, type AnnQuantization } from '../ann.js';
import type { Filter, Metadata } from '../filter.js';
import { fuse } from '../fusion.js';
import { readManifest } from '../manifest.js';
import { openIndex, type SearchIndex } from '../search-index.js';
import { type IndexHit } from '../searcher.js';
import { IndexWriter, type GraphPolicy, type WriteDocument } from '../write-index.js';
import { cleanBuild, type Content } from './living.js';

// Words whose Porter stems are all different, so the oracle's BM25 can count words as SQLite counts stems.
const WORDS = (
  'london paris river bridge tower museum garden train market harbour castle church library school ' +
  'football music dinner recipe rice bread coffee winter summer rain snow mountain forest ocean island city ' +
  'history war king queen physics chemistry biology computer network search engine vector'
).split(' ');

/** One step of a sequence. Every choice is drawn up front (picks in [0, 1) index whatever is live when it runs), so a shrunk sequence still runs. */
export type Op =
  | { kind: 'upsert'; docs: { replace: number | null; text: number; meta: number }[] }
  | { kind: 'delete'; picks: number[] }
  | { kind: 'compact' }
  | { kind: 'reopen' }
  | { kind: 'search'; queries: { own: number | null; text: number }[]; k: number; filter: number; fusion: number };

export interface OracleConfig {
  /** Documents of the initial build. */
  initial: number;
  ops: number;
  /** The graph's quantization; null: no graph. */
  graph: AnnQuantization | null;
  /** Vectors from the texts (fast, near-duplicates by design) or from the fixture model. */
  vectors: 'synthetic' | 'model';
  /** How far apart synthetic vectors are: noise around a few shared directions (0.25: cosine ~0.95). */
  noise: number;
  policy?: GraphPolicy;
}

export interface OracleFailure {
  seed: number;
  config: OracleConfig;
  /** The shortest failing sequence found. */
  ops: Op[];
  message: string;
  /** Operations in the sequence as first generated. */
  originalOps: number;
}

export interface OracleRun {
  seed: number;
  ops: number;
  searches: number;
  checks: number;
  failure?: OracleFailure;
}

/** A passage text from a number: 4–14 words of WORDS. Equal numbers give equal texts (and equal vectors). */
function textOf(n: number): string {
  const r = seededRandom(n * 7919 + 17);
  const len = 4 + Math.floor(r() * 11);
  return Array.from({ length: len }, () => WORDS[Math.floor(r() * WORDS.length)] as string).join(' ');
}

function metaOf(n: number): Metadata | undefined {
  if (n % 7 === 0) return undefined;
  const m: Metadata = { year: 1990 + (n % 30), lang: ['en', 'de', 'fr'][n % 3] as string };
  if (n % 5 !== 0) m.draft = n % 2 === 0;
  return m;
}

const FILTERS: { filter: Filter; allow: (m: Metadata, id: string) => boolean }[] = [
  { filter: { lang: 'de' }, allow: (m) => m.lang === 'de' },
  { filter: { year: { gte: 2000, lt: 2010 } }, allow: (m) => typeof m.year === 'number' && m.year >= 2000 && m.year < 2010 },
  { filter: { or: [{ lang: 'en' }, { draft: true }] }, allow: (m) => m.lang === 'en' || m.draft === true },
  { filter: { not: { year: 1995 } }, allow: (m) => m.year !== 1995 },
  { filter: { draft: false }, allow: (m) => m.draft === false },
  { filter: { and: [{ lang: { in: ['fr', 'de'] } }, { not: { year: { gt: 2012 } } }] }, allow: (m) => (m.lang === 'fr' || m.lang === 'de') && !(typeof m.year === 'number' && m.year > 2012) },
  { filter: { id: { in: ['d3', 'd10', 'd11', 'd40', 'nope'] } }, allow: (_, id) => ['d3', 'd10', 'd11', 'd40'].includes(id) },
];

/** Synthetic vectors: a few shared directions plus noise, so unrelated texts are near-duplicates (cosine ~0.95). */
function syntheticVector(text: string, dim: number, noise: number): Float32Array {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  const r = seededRandom(h);
  const base = seededRandom(1 + (h % 3));
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = (base() - 0.5) + noise * (r() - 0.5);
  return v;
}

/** The fixture model, or the same model (same fingerprint, so the index accepts it) encoding texts as synthetic vectors. */
export function vectorModel(model: SentenceTransformer, noise: number): SentenceTransformer {
  const fake = Object.create(model) as SentenceTransformer;
  const encode = async (texts: string | readonly string[]): Promise<Matrix | Float32Array> => {
    const list = typeof texts === 'string' ? [texts] : texts;
    const m = new Matrix(list.length, model.dimension, new Float32Array(list.length * model.dimension));
    list.forEach((t, i) => m.data.set(syntheticVector(t, model.dimension, noise), i * model.dimension));
    return typeof texts === 'string' ? m.row(0) : m;
  };
  Object.defineProperty(fake, 'encode', { value: encode });
  Object.defineProperty(fake, 'encodeQuery', { value: encode });
  Object.defineProperty(fake, 'encodeDocument', { value: encode });
  return fake;
}

export function generate(seed: number, config: OracleConfig): Op[] {
  const r = seededRandom(seed);
  const ops: Op[] = [];
  const int = (n: number): number => Math.floor(r() * n);
  for (let i = 0; i < config.ops; i++) {
    const x = r();
    if (x < 0.34) {
      ops.push({ kind: 'upsert', docs: Array.from({ length: 1 + int(8) }, () => ({ replace: r() < 0.4 ? r() : null, text: r() < 0.1 ? int(20) : int(1e9), meta: int(1e6) })) });
    } else if (x < 0.6) {
      ops.push({ kind: 'delete', picks: Array.from({ length: 1 + int(6) }, () => r()) });
    } else if (x < 0.63) {
      ops.push({ kind: 'compact' });
    } else if (x < 0.67) {
      ops.push({ kind: 'reopen' });
    } else {
      ops.push({
        kind: 'search',
        queries: Array.from({ length: 1 + int(4) }, () => ({ own: r() < 0.5 ? r() : null, text: int(1e9) })),
        k: [1, 3, 10, 30][int(4)] as number,
        filter: int(FILTERS.length * 2) - FILTERS.length,
        fusion: int(3),
      });
    }
  }
  return ops;
}

interface Row {
  id: string;
  text: string;
  meta: Metadata | undefined;
  vec: Float32Array;
  deleted: boolean;
}

interface Ranked {
  row: number;
  score: number;
}

/** The brute-force model of the index: its rows since the last compact (tombstones too, as SQLite's BM25 counts them). */
class Oracle {
  rows: Row[] = [];
  live = new Map<string, number>();

  add(id: string, text: string, meta: Metadata | undefined, vec: Float32Array): void {
    const old = this.live.get(id);
    if (old !== undefined) (this.rows[old] as Row).deleted = true;
    this.live.set(id, this.rows.length);
    this.rows.push({ id, text, meta, vec, deleted: false });
  }

  remove(id: string): void {
    const row = this.live.get(id) as number;
    (this.rows[row] as Row).deleted = true;
    this.live.delete(id);
  }

  compact(): void {
    this.rows = this.rows.filter((r) => !r.deleted);
    this.live = new Map(this.rows.map((r, i) => [r.id, i]));
  }

  liveIds(): string[] {
    return [...this.live.keys()].sort();
  }

  private allowed(filter: number): (r: Row) => boolean {
    const f = FILTERS[filter];
    return (r) => !r.deleted && (f === undefined || f.allow(r.meta ?? {}, r.id));
  }

  /** Exact search's arithmetic: float64 sums in dimension order, rounded to float32; ties by row. */
  vector(q: Float32Array, k: number, filter: number): Ranked[] {
    const ok = this.allowed(filter);
    const out: Ranked[] = [];
    this.rows.forEach((r, row) => {
      if (!ok(r)) return;
      let s = 0;
      for (let i = 0; i < q.length; i++) s += (q[i] as number) * (r.vec[i] as number);
      out.push({ row, score: Math.fround(s) });
    });
    return out.sort((a, b) => b.score - a.score || a.row - b.row).slice(0, k);
  }

  /** SQLite FTS5's bm25() (k1 1.2, b 0.75) over every row it holds, tombstones included; ties by row. */
  keyword(query: string, k: number, filter: number): Ranked[] {
    const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])];
    const toks: string[][] = this.rows.map((r) => r.text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
    const nRow = this.rows.length;
    const avgdl = toks.reduce((s, t) => s + t.length, 0) / nRow;
    const idf = words.map((w) => {
      const nHit = toks.filter((t) => t.includes(w)).length;
      const v = Math.log((nRow - nHit + 0.5) / (nHit + 0.5));
      return v <= 0 ? 1e-6 : v;
    });
    const ok = this.allowed(filter);
    const out: Ranked[] = [];
    this.rows.forEach((r, row) => {
      const t = toks[row] as string[];
      if (!ok(r) || !words.some((w) => t.includes(w))) return;
      let score = 0;
      words.forEach((w, i) => {
        const f = t.filter((x) => x === w).length;
        if (f > 0) score += ((idf[i] as number) * (f * (1.2 + 1.0))) / (f + 1.2 * (1 - 0.75 + (0.75 * t.length) / avgdl));
      });
      out.push({ row, score });
    });
    return out.sort((a, b) => b.score - a.score || a.row - b.row).slice(0, k);
  }
}

/** Rankings agree: same length, scores within tol position by position, and the same rows except where scores (near-)tie. */
function sameRanking(got: readonly IndexHit[], want: readonly Ranked[], oracle: Oracle, tol: number, what: string): void {
  const fail = (why: string): never => {
    assert.fail(`${what}: ${why}\n  got  ${got.map((h) => `${h.id}:${h.score.toFixed(6)}`).join(' ')}\n  want ${want.map((w) => `${oracle.rows[w.row]?.id}:${w.score.toFixed(6)}`).join(' ')}`);
  };
  if (got.length !== want.length) fail(`${got.length} hits, want ${want.length}`);
  const seen = new Set<string>();
  got.forEach((h, j) => {
    const w = want[j] as Ranked;
    if (Math.abs(h.score - w.score) > tol * Math.max(1, Math.abs(w.score))) fail(`hit ${j} scores ${h.score}, want ${w.score}`);
    if (seen.has(h.id)) fail(`${h.id} twice`);
    seen.add(h.id);
    const row = oracle.live.get(h.id);
    if (row === undefined) fail(`${h.id} is not a live document`);
    const r = oracle.rows[row as number] as Row;
    if (h.text !== r.text) fail(`${h.id} has text ${JSON.stringify(h.text)}, want ${JSON.stringify(r.text)}`);
    if (JSON.stringify(h.metadata ?? {}) !== JSON.stringify(Object.fromEntries(Object.entries(r.meta ?? {}).filter(([, v]) => v !== null)))) fail(`${h.id}'s metadata`);
    if (h.id !== oracle.rows[w.row]?.id) {
      // Only a tie may reorder: the row the oracle ranks here must be somewhere in the hits with its score.
      const near = want.some((x) => oracle.rows[x.row]?.id === h.id && Math.abs(x.score - w.score) <= tol * Math.max(1, Math.abs(w.score)));
      const boundary = Math.abs(h.score - (want[want.length - 1] as Ranked).score) <= tol * Math.max(1, Math.abs(w.score));
      if (!near && !boundary) fail(`hit ${j} is ${h.id}, want ${oracle.rows[w.row]?.id}`);
    }
  });
}

/** Hits of an approximate search: min(k, allowed) of them, each live and allowed, with its exact score, best first. */
function validHits(got: readonly IndexHit[], q: Float32Array, oracle: Oracle, filter: number, k: number, what: string): void {
  const all = oracle.vector(q, Number.MAX_SAFE_INTEGER, filter);
  const score = new Map(all.map((x) => [oracle.rows[x.row]?.id as string, x.score]));
  if (got.length !== Math.min(k, all.length)) assert.fail(`${what}: ${got.length} hits, want ${Math.min(k, all.length)}`);
  got.forEach((h, j) => {
    const want = score.get(h.id);
    if (want === undefined) assert.fail(`${what}: hit ${j} ${h.id} is deleted or refused by the filter`);
    if (Math.abs(want - h.score) > 1e-6) assert.fail(`${what}: hit ${j} ${h.id} scores ${h.score}, exactly ${want}`);
    if (j > 0 && h.score > (got[j - 1] as IndexHit).score) assert.fail(`${what}: hits out of order at ${j}`);
  });
}

/** Whether a ranking has two different scores closer than tol (an order the two arithmetics may break differently). */
function nearTies(list: readonly Ranked[], tol: number): boolean {
  for (let i = 1; i < list.length; i++) {
    const d = Math.abs((list[i - 1] as Ranked).score - (list[i] as Ranked).score);
    if (d > 0 && d <= tol) return true;
  }
  return false;
}

export interface RunContext {
  /** The fixture model (its fingerprint is the index's). */
  model: SentenceTransformer;
  modelRef: string;
  /** A scratch folder for the run's indexes. */
  dir: string;
}

/** Run one sequence from a fresh build; resolves with the checks done, or rejects with the first disagreement. */
export async function runSequence(ctx: RunContext, seed: number, config: OracleConfig, ops: readonly Op[]): Promise<{ searches: number; checks: number }> {
  const model = config.vectors === 'synthetic' ? vectorModel(ctx.model, config.noise) : ctx.model;
  const oracle = new Oracle();
  const vectorOf = async (texts: readonly string[]): Promise<Matrix> => {
    const m = (await model.encode(texts)) as Matrix;
    return normalizeRows(m);
  };
  const content = new Map<string, Content>();
  const init = seededRandom(seed ^ 0x5bd1e995);
  for (let i = 0; i < config.initial; i++) {
    const n = Math.floor(init() * 1e9);
    const meta = metaOf(Math.floor(init() * 1e6));
    content.set(`d${i}`, { text: textOf(n), ...(meta !== undefined ? { metadata: meta } : {}) });
  }
  const dir = join(ctx.dir, `s${seed}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`);
  mkdirSync(dir, { recursive: true });
  let searches = 0;
  let checks = 0;
  let writer: IndexWriter | undefined;
  let index: SearchIndex | undefined;
  try {
    const built = await cleanBuild(dir, 'o', content, model, ctx.modelRef);
    if (config.graph !== null) await buildAnnIndex(built, { quantization: config.graph, threads: 1 });
    const initVecs = await vectorOf([...content.values()].map((c) => c.text));
    [...content].forEach(([id, c], i) => oracle.add(id, c.text, c.metadata, initVecs.row(i).slice()));
    const open = async (): Promise<void> => {
      writer = await IndexWriter.open(built, { model, ...(config.policy !== undefined ? { graphPolicy: config.policy } : {}) });
      index = await openIndex(built, { model });
    };
    await open();
    let nextId = config.initial;
    for (const [step, op] of ops.entries()) {
      const at = `seed ${seed} step ${step} (${op.kind})`;
      const w = writer as IndexWriter;
      if (op.kind === 'upsert') {
        const ids = oracle.liveIds();
        const docs: WriteDocument[] = [];
        for (const d of op.docs) {
          const id = d.replace !== null && ids.length > 0 ? (ids[Math.floor(d.replace * ids.length)] as string) : `d${nextId++}`;
          if (docs.some((x) => x.id === id)) continue;
          const meta = metaOf(d.meta);
          docs.push({ id, text: textOf(d.text), ...(meta !== undefined ? { metadata: meta } : {}) });
        }
        await w.upsert(docs);
        const vecs = await vectorOf(docs.map((d) => d.text));
        docs.forEach((d, i) => oracle.add(d.id, d.text, d.metadata, vecs.row(i).slice()));
      } else if (op.kind === 'delete') {
        const ids = oracle.liveIds();
        if (ids.length === 0) continue;
        const del = [...new Set(op.picks.map((p) => ids[Math.floor(p * ids.length)] as string))];
        await w.delete(del);
        for (const id of del) oracle.remove(id);
      } else if (op.kind === 'compact') {
        await w.compact();
        oracle.compact();
      } else if (op.kind === 'reopen') {
        await writer?.close();
        await index?.close();
        writer = undefined;
        index = undefined;
        await open();
      } else {
        const s = index as SearchIndex;
        searches++;
        const ids = oracle.liveIds();
        const texts = op.queries.map((q) => (q.own !== null && ids.length > 0 ? oracle.rows[oracle.live.get(ids[Math.floor(q.own * ids.length)] as string) as number]?.text : undefined) ?? textOf(q.text));
        const qv = await vectorOf(texts);
        const live = oracle.live.size;
        const k = op.k;
        const filterIdx = op.filter >= 0 ? op.filter : -1;
        const filter = FILTERS[filterIdx]?.filter;
        const fopt = filter !== undefined ? { filter } : {};
        const want = texts.map((_, qi) => oracle.vector(qv.row(qi), k, filterIdx));
        const exact = await s.searchEmbeddings(qv, k, { exact: true, ...fopt });
        exact.forEach((h, qi) => sameRanking(h, want[qi] as Ranked[], oracle, 1e-6, `${at}: exact query ${qi}${filter !== undefined ? ` filter ${JSON.stringify(filter)}` : ''}`));
        // count is the state the last search loaded.
        assertEq(s.count, live, `${at}: count`);
        checks += texts.length;
        if (config.graph !== null && live > 0) {
          const full = await s.searchEmbeddings(qv, k, { ef: Math.min(MAX_EF, live), ...fopt });
          full.forEach((h, qi) => sameRanking(h, want[qi] as Ranked[], oracle, 1e-6, `${at}: graph at ef ${live} (= live) query ${qi}${filter !== undefined ? ` filter ${JSON.stringify(filter)}` : ''}`));
          checks += texts.length;
          // At the default ef and just below the scan's threshold the graph may miss a neighbour, but never
          // return a deleted, refused or misscored row, nor fewer hits than k.
          for (const ef of [undefined, Math.min(MAX_EF, Math.max(1, live - 1))]) {
            const approx = await s.searchEmbeddings(qv, k, { ...(ef !== undefined ? { ef } : {}), ...fopt });
            approx.forEach((h, qi) => validHits(h, qv.row(qi), oracle, filterIdx, k, `${at}: graph at ef ${ef ?? 'default'} query ${qi}`));
            checks += texts.length;
          }
        }
        const kw = await s.search(texts, k, { mode: 'keyword', ...fopt });
        kw.forEach((h, qi) => sameRanking(h, oracle.keyword(texts[qi] as string, k, filterIdx), oracle, 1e-9, `${at}: keyword query ${qi}`));
        checks += texts.length;
        const fusion = op.fusion === 0 ? {} : op.fusion === 1 ? { fusion: 'weighted' as const } : { fusion: 'weighted' as const, vectorWeight: 0.3 };
        const depth = Math.min(live, Math.max(k, 100));
        const hy = await s.searchEncoded(texts, qv, k, { mode: 'hybrid', exact: true, ...fusion, ...fopt });
        hy.forEach((h, qi) => {
          const vec = oracle.vector(qv.row(qi), depth, filterIdx);
          const key = oracle.keyword(texts[qi] as string, depth, filterIdx);
          // Hybrid ranks depend on both rankings' orders: where two scores are closer than the arithmetics agree, only validity is checked.
          if (nearTies(vec, 1e-6) || nearTies(key, 1e-9)) return;
          const fused = fuse(vec.map((x) => ({ index: x.row, score: x.score })), key.map((x) => ({ index: x.row, score: x.score })), fusion)
            .slice(0, Math.min(k, live))
            .map((x) => ({ row: x.index, score: x.score }));
          sameRanking(h, fused, oracle, 1e-9, `${at}: hybrid query ${qi}`);
          checks++;
        });
      }
    }
    // The end state equals a clean build's and the committed manifest agrees with the oracle.
    const m = readManifest(built);
    assertEq(m.count - (m.deleted ?? 0), oracle.live.size, `seed ${seed} end: live count`);
    return { searches, checks };
  } finally {
    await writer?.close();
    await index?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertEq(a: unknown, b: unknown, what: string): void {
  if (a !== b) assert.fail(`${what}: ${String(a)}, want ${String(b)}`);
}

/**
 * Shrink a failing sequence: drop chunks (halves, then quarters, … then single operations) while it still fails,
 * within a time budget. Returns the shortest failing sequence and its message.
 */
export async function shrink(ctx: RunContext, seed: number, config: OracleConfig, ops: Op[], message: string, budgetMs: number): Promise<{ ops: Op[]; message: string }> {
  const end = Date.now() + budgetMs;
  let best = ops;
  let msg = message;
  let chunk = Math.max(1, Math.floor(best.length / 2));
  while (chunk >= 1 && Date.now() < end) {
    let changed = false;
    for (let start = 0; start < best.length && Date.now() < end; ) {
      const trial = [...best.slice(0, start), ...best.slice(start + chunk)];
      // The last search must stay: without a check nothing can fail.
      if (!trial.some((o) => o.kind === 'search')) {
        start += chunk;
        continue;
      }
      try {
        await runSequence(ctx, seed, config, trial);
        start += chunk;
      } catch (e) {
        best = trial;
        msg = (e as Error).message;
        changed = true;
      }
    }
    if (!changed) chunk = Math.floor(chunk / 2);
  }
  return { ops: best, message: msg };
}

/** Generate, run, and on failure shrink one seed. */
export async function runSeed(ctx: RunContext, seed: number, config: OracleConfig, shrinkMs = 60_000): Promise<OracleRun> {
  const ops = generate(seed, config);
  try {
    const r = await runSequence(ctx, seed, config, ops);
    return { seed, ops: ops.length, ...r };
  } catch (e) {
    const s = await shrink(ctx, seed, config, ops, (e as Error).message, shrinkMs);
    return { seed, ops: ops.length, searches: 0, checks: 0, failure: { seed, config, ops: s.ops, message: s.message, originalOps: ops.length } };
  }
}

/** A failure as one paragraph: the seed, the configuration, and the shrunk sequence, readable and replayable. */
export function describeFailure(f: OracleFailure): string {
  const ops = f.ops.map((o) => (o.kind === 'upsert' ? `upsert(${o.docs.length})` : o.kind === 'delete' ? `delete(${o.picks.length})` : o.kind === 'search' ? `search(k=${o.k})` : o.kind)).join(' ');
  return `seed ${f.seed} ${JSON.stringify(f.config)}: ${f.originalOps} ops shrunk to ${f.ops.length}: ${ops}\n${f.message}\nreplay: ${JSON.stringify(f.ops)}`;
}
