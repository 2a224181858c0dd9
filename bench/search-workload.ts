/**
 * Builds the search workload of the search benchmarks: a reproducible corpus of real all-MiniLM-L6-v2 embeddings
 * (at least 150,000 rows), real queries, and the exact float32 top-100 of every query. bench/search-scale.ts and
 * bench/peers/search_peer.py read it. The format (little-endian, row-major, no headers):
 *   meta.json      name, model, dim, corpusRows, queryRows, gtK (100), sources, cpu, encodeSeconds, textsSha256, ...
 *   corpus.f32     corpusRows × dim float32 embeddings, as semsearch's encoder gives them (normalised for MiniLM)
 *   corpus.jsonl   one {"id", "source", "text"} per row;  queries.f32 / queries.jsonl the same for the queries
 *   gt.i32         queryRows × gtK corpus rows: the float32 exact top-100 by dot product, best first, ties by row
 *   gt.f32         their scores
 *
 *   node --conditions=source --import tsx bench/search-workload.ts [--model DIR]     # build (or resume) the workload
 *
 * Options: --model DIR (default ~/.cache/semsearch/real/all-MiniLM-L6-v2, a sentence-transformers folder with
 * onnx/model.onnx), --name NAME (default minilm-l6-384; "smoke" with --limit), --data-dir DIR (default SEMSEARCH_DATA,
 * else ../shared/data beside the repository), --threads N (2), --batch-size N (64), --chunk N (8192 rows per resumable
 * chunk), --seed N (20240611, picks the held-apart passages), --heldout N (1000), --limit N (caps the corpus rows,
 * evenly spread over it: a quick end-to-end check), --force (rebuild a finished workload), --dry-run (build and
 * count the texts only), --reuse NAME[,NAME] (copy the embedding of every text that a finished workload of the same
 * model already holds instead of encoding it again: a --limit 10000 corpus holds every row of the --limit 5000 one).
 *
 * Python is only needed once, to export the weights to ONNX (tools/reference/export_real.py); this script needs
 * Node alone. The files go to ${SEMSEARCH_BENCH_CACHE:-~/.cache/semsearch}/search-workload/<name>/: meta.json,
 * corpus.f32, corpus.jsonl, queries.f32, queries.jsonl, gt.i32, gt.f32 (little-endian, row-major, no header).
 *
 * Texts (read in place from the data folder, never copied into the repository):
 * - corpus: every distinct MS MARCO passage of the TREC DL 2019/2020 candidate lists plus the DL19 relevant subset
 *   (whose encoding-repaired text wins), the Cranfield and CACM documents; each document whole, each of its sentences
 *   of at least 4 words, and each window of 2 consecutive sentences (documents of 3 sentences or more); windows of
 *   3 sentences too when that is still under 150,000 rows. Texts are whitespace-normalised and deduplicated, the first
 *   row of a text winning (documents before sentences before windows).
 * - queries: TREC DL 2019 and 2020 topics, the first 1000 MS MARCO dev-small queries, Cranfield's and CACM's queries,
 *   and 1000 MS MARCO passages held apart (seeded): they and their sentences and windows are not in the corpus, and
 *   no corpus row has their text.
 * Encoding resumes after a stop: finished chunks are kept in corpus.f32.partial (with corpus.progress.json, checked
 * against the sha256 of the texts); the finished files are renamed into place, meta.json last.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { candidatePassages, readCandidateLists } from '../src/corpus/candidates.js';
import { readMsMarcoCollection, readMsMarcoQueries } from '../src/corpus/msmarco.js';
import { readCacmQueries, readCranfieldQueries, readSmartDocs, smartDocumentText } from '../src/corpus/smart.js';
import { loadModel } from '../src/encoder/load-model.js';
import type { SentenceTransformer } from '../src/encoder/sentence-transformer.js';
import { exactSearch } from '../src/store/exact-search.js';
import { Matrix } from '../src/tensor/matrix.js';
import { seededRandom } from './stats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
function opt(name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : dflt;
}
function intOpt(name: string, dflt: number): number {
  const v = Number(opt(name, String(dflt)));
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${opt(name, '')}`);
  return v;
}

const MODEL = resolve(opt('model', join(homedir(), '.cache', 'semsearch', 'real', 'all-MiniLM-L6-v2')));
const LIMIT = args.includes('--limit') ? intOpt('limit', 1) : undefined;
const NAME = opt('name', LIMIT === undefined ? 'minilm-l6-384' : 'smoke');
const DATA = resolve(opt('data-dir', process.env['SEMSEARCH_DATA'] ?? join(repoRoot, '..', 'shared', 'data')));
const THREADS = intOpt('threads', 2);
const BATCH = intOpt('batch-size', 64);
const CHUNK = intOpt('chunk', 8192);
const SEED = intOpt('seed', 20240611);
const HELDOUT = intOpt('heldout', 1000);
const FORCE = args.includes('--force');
const DRY_RUN = args.includes('--dry-run');
const REUSE = opt('reuse', '').split(',').filter((n) => n !== '');
const MIN_ROWS = 150_000;
const GT_K = 100;
const CACHE_ROOT = process.env['SEMSEARCH_BENCH_CACHE'] ?? join(homedir(), '.cache', 'semsearch');
const OUT = join(CACHE_ROOT, 'search-workload', NAME);

const t0 = performance.now();
function log(s: string): void {
  console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${s}`);
}
function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

// ---------------------------------------------------------------------------------------------------------------
// Texts

interface Row {
  id: string;
  source: string;
  text: string;
}

interface Doc {
  /** "msmarco:7067032", "cranfield:12" */
  id: string;
  text: string;
}

interface Collection {
  /** "msmarco", "cranfield", "cacm": the source prefix. */
  name: string;
  /** What a whole document is called in its source name: "passage" or "doc". */
  whole: string;
  docs: Doc[];
}

const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
const words = (s: string): number => (s.length === 0 ? 0 : s.split(' ').length);

/**
 * Sentences of a normalised text: cut after . ! ? followed by a space and a capital or digit; also after a
 * punctuation mark standing alone as a token (" . "), as in Cranfield's lower-cased, tokenised text.
 */
const SENTENCE_END = /(?<=[.!?])\s+(?=[A-Z0-9])|(?<= [.!?])\s+(?=\S)/;
function sentences(text: string): string[] {
  return text
    .split(SENTENCE_END)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

async function readMsMarcoPassages(): Promise<Map<string, string>> {
  const root = join(DATA, 'msmarco-passage-trec-dl-candidates');
  const passages = new Map<string, string>();
  const dirs = readdirSync(root).filter((d) => statSync(join(root, d)).isDirectory()).sort();
  for (const d of dirs) {
    for (const year of ['dl19', 'dl20']) {
      const file = join(root, d, `retrieve_results_${year}.json`);
      if (!existsSync(file)) continue;
      for (const [pid, text] of candidatePassages(await readCandidateLists(file))) if (!passages.has(pid)) passages.set(pid, text);
    }
  }
  const fromLists = passages.size;
  const repaired = await readMsMarcoCollection(join(DATA, 'msmarco-passage-dl19-relevant-subset', 'collection.tsv'));
  for (const [pid, text] of repaired) passages.set(pid, text);
  log(`MS MARCO: ${fromLists} passages in the candidate lists, ${repaired.size} in the DL19 relevant subset, ${passages.size} distinct`);
  return passages;
}

async function readSmartCollection(name: string, file: string): Promise<Doc[]> {
  const docs = await readSmartDocs(join(DATA, file));
  return [...docs.values()].map((d) => ({ id: `${name}:${d.id}`, text: norm(smartDocumentText(d)) })).filter((d) => d.text.length > 0);
}

/** The corpus rows of the collections, in blocks (collection × kind), first row of a text winning. */
function buildRows(collections: readonly Collection[], windows3: boolean): Row[] {
  const seen = new Set<string>();
  const rows: Row[] = [];
  const add = (id: string, source: string, text: string): void => {
    if (text.length === 0 || seen.has(text)) return;
    seen.add(text);
    rows.push({ id, source, text });
  };
  for (const c of collections) {
    const split = c.docs.map((d) => sentences(d.text));
    for (const d of c.docs) add(d.id, `${c.name}-${c.whole}`, d.text);
    c.docs.forEach((d, di) => (split[di] as string[]).forEach((s, i) => words(s) >= 4 && add(`${d.id}#s${i}`, `${c.name}-sentence`, s)));
    c.docs.forEach((d, di) => {
      const s = split[di] as string[];
      if (s.length >= 3) for (let i = 0; i + 1 < s.length; i++) add(`${d.id}#w${i}`, `${c.name}-window`, `${s[i]} ${s[i + 1]}`);
    });
    if (windows3) {
      c.docs.forEach((d, di) => {
        const s = split[di] as string[];
        if (s.length >= 4) for (let i = 0; i + 2 < s.length; i++) add(`${d.id}#t${i}`, `${c.name}-window3`, `${s[i]} ${s[i + 1]} ${s[i + 2]}`);
      });
    }
  }
  return rows;
}

function countSources(rows: readonly Row[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.source] = (out[r.source] ?? 0) + 1;
  return out;
}

function sha256Texts(rows: readonly Row[]): string {
  const h = createHash('sha256');
  rows.forEach((r, i) => h.update(i === 0 ? r.text : `\n${r.text}`, 'utf8'));
  return h.digest('hex');
}

async function buildTexts(): Promise<{ corpus: Row[]; queries: Row[]; windows3: boolean }> {
  const passages = await readMsMarcoPassages();
  const pids = [...passages.keys()].sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
  const msmarco = pids.map((pid) => ({ id: `msmarco:${pid}`, text: norm(passages.get(pid) as string) })).filter((d) => d.text.length > 0);
  const cranfield = await readSmartCollection('cranfield', 'cranfield/cran.all.1400');
  const cacm = await readSmartCollection('cacm', 'cacm/cacm.all');
  log(`Cranfield: ${cranfield.length} documents; CACM: ${cacm.length} documents`);

  // Held-apart passages: a seeded shuffle of the MS MARCO passages of 4 words or more, the first HELDOUT of them,
  // each replaced by the next one while its text is still a corpus row (a copy under another pid, or another
  // passage's sentence or window) or the text of a passage already held apart.
  const rnd = seededRandom(SEED);
  const order = msmarco.filter((d) => words(d.text) >= 4);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j] as Doc, order[i] as Doc];
  }
  const held = new Set<Doc>();
  const heldTexts = new Set<string>();
  let next = 0;
  const take = (): void => {
    while (next < order.length) {
      const d = order[next++] as Doc;
      if (heldTexts.has(d.text)) continue;
      held.add(d);
      heldTexts.add(d.text);
      return;
    }
    throw new Error(`not enough MS MARCO passages to hold ${HELDOUT} apart`);
  };
  while (held.size < HELDOUT) take();
  let corpus: Row[] = [];
  let windows3 = false;
  for (let round = 1; ; round++) {
    const collections: Collection[] = [
      { name: 'msmarco', whole: 'passage', docs: msmarco.filter((d) => !held.has(d)) },
      { name: 'cranfield', whole: 'doc', docs: cranfield },
      { name: 'cacm', whole: 'doc', docs: cacm },
    ];
    corpus = buildRows(collections, false);
    windows3 = corpus.length < MIN_ROWS;
    if (windows3) corpus = buildRows(collections, true);
    const texts = new Set(corpus.map((r) => r.text));
    const clashes = [...held].filter((d) => texts.has(d.text));
    log(`corpus round ${round}: ${corpus.length} rows${windows3 ? ' (with 3-sentence windows)' : ''}; ${clashes.length} held-apart passages have a copy in it`);
    if (clashes.length === 0) break;
    for (const d of clashes) {
      held.delete(d);
      heldTexts.delete(d.text);
    }
    while (held.size < HELDOUT) take();
  }

  const queries: Row[] = [];
  const topics = join(DATA, 'msmarco-passage-topics-qrels');
  const addQueries = (prefix: string, source: string, m: Map<string, string>, limit = Infinity): void => {
    let n = 0;
    for (const [id, text] of m) {
      if (n++ >= limit) break;
      const t = norm(text);
      if (t.length > 0) queries.push({ id: `${prefix}:${id}`, source, text: t });
    }
  };
  addQueries('dl19', 'dl19-query', await readMsMarcoQueries(join(topics, 'topics.dl19-passage.txt')));
  addQueries('dl20', 'dl20-query', await readMsMarcoQueries(join(topics, 'topics.dl20.txt')));
  addQueries('msmarco-dev', 'msmarco-dev-query', await readMsMarcoQueries(join(topics, 'topics.msmarco-passage.dev-subset.txt')), 1000);
  addQueries('cranfield-q', 'cranfield-query', await readCranfieldQueries(join(DATA, 'cranfield', 'cran.qry'), (w) => log(`warning: ${w.message}`)));
  addQueries('cacm-q', 'cacm-query', await readCacmQueries(join(DATA, 'cacm', 'query.text'), (w) => log(`warning: ${w.message}`)));
  const heldSorted = [...held].sort((a, b) => Number(a.id.slice(8)) - Number(b.id.slice(8)));
  for (const d of heldSorted) queries.push({ id: `msmarco-heldout:${d.id.slice('msmarco:'.length)}`, source: 'msmarco-heldout-passage', text: d.text });

  if (LIMIT !== undefined && LIMIT < corpus.length) {
    const all = corpus;
    corpus = Array.from({ length: LIMIT }, (_, i) => all[Math.floor((i * all.length) / LIMIT)] as Row);
    log(`--limit ${LIMIT}: ${corpus.length} of ${all.length} rows kept, evenly spread`);
  }
  return { corpus, queries, windows3 };
}

// ---------------------------------------------------------------------------------------------------------------
// Files

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, file);
}

const bytesOf = (a: Float32Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  if (b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  return new Float32Array(new Uint8Array(b).buffer);
}

const jsonl = (rows: readonly Row[]): string => rows.map((r) => JSON.stringify({ id: r.id, source: r.source, text: r.text })).join('\n') + '\n';

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

interface Progress {
  textsSha256: string;
  model: string;
  dim: number;
  chunk: number;
  batchSize: number;
  rowsDone: number;
  encodeSeconds: number;
}

/** text → embedding, from the finished workloads named by --reuse that were encoded by the same model. */
function reuseCache(dim: number): Map<string, Float32Array> {
  const cache = new Map<string, Float32Array>();
  for (const name of REUSE) {
    const dir = join(CACHE_ROOT, 'search-workload', name);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { model?: string; dim?: number };
    if (meta.model !== MODEL || meta.dim !== dim) throw new Error(`--reuse ${name}: its model is ${meta.model} (dim ${meta.dim}), not ${MODEL} (dim ${dim})`);
    for (const part of ['corpus', 'queries']) {
      const rows = readFileSync(join(dir, `${part}.jsonl`), 'utf8').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as Row).text);
      const data = readF32(join(dir, `${part}.f32`));
      if (data.length !== rows.length * dim) throw new Error(`--reuse ${name}: ${part}.f32 holds ${data.length} floats, expected ${rows.length}×${dim}`);
      rows.forEach((t, i) => cache.set(t, data.slice(i * dim, (i + 1) * dim)));
    }
    log(`--reuse ${name}: ${cache.size} distinct texts cached so far`);
  }
  return cache;
}

/** Encode texts, copying those the cache already holds; returns the rows and how many were copied. */
async function encodeWithCache(model: SentenceTransformer, texts: readonly string[], dim: number, cache: Map<string, Float32Array>, onProgress?: (p: { done: number }) => void): Promise<{ data: Float32Array; reused: number }> {
  const data = new Float32Array(texts.length * dim);
  const todo: number[] = [];
  texts.forEach((t, i) => {
    const hit = cache.get(t);
    if (hit) data.set(hit, i * dim);
    else todo.push(i);
  });
  if (todo.length > 0) {
    const m = await model.encode(
      todo.map((i) => texts[i] as string),
      { batchSize: BATCH, ...(onProgress ? { onProgress } : {}) },
    );
    if (m.dim !== dim || m.rows !== todo.length) throw new Error(`encode gave ${m.rows}×${m.dim}, expected ${todo.length}×${dim}`);
    todo.forEach((i, j) => data.set(m.data.subarray(j * dim, (j + 1) * dim), i * dim));
  }
  return { data, reused: texts.length - todo.length };
}

/** Encode the corpus chunk by chunk into corpus.f32.partial, resuming after the last finished chunk. */
async function encodeCorpus(model: SentenceTransformer, corpus: readonly Row[], sha: string, dim: number, cache: Map<string, Float32Array>): Promise<{ seconds: number; sessionRows: number; sessionSeconds: number; reused: number }> {
  let reused = 0;
  const partial = join(OUT, 'corpus.f32.partial');
  const progressFile = join(OUT, 'corpus.progress.json');
  let done = 0;
  let seconds = 0;
  if (existsSync(progressFile) && existsSync(partial)) {
    const p = JSON.parse(readFileSync(progressFile, 'utf8')) as Progress;
    if (p.textsSha256 === sha && p.model === MODEL && p.dim === dim && p.chunk === CHUNK && p.batchSize === BATCH) {
      done = p.rowsDone;
      seconds = p.encodeSeconds;
      log(`resuming: ${done} of ${corpus.length} rows already encoded (${duration(seconds)} of encoding)`);
    } else {
      log('the partial encoding is of other texts or settings: starting over');
    }
  }
  const fd = openSync(partial, done === 0 ? 'w' : 'r+');
  const rowBytes = dim * 4;
  if (done > 0) {
    const have = Math.floor(statSync(partial).size / rowBytes);
    if (have < done) {
      log(`corpus.f32.partial holds ${have} rows, fewer than the ${done} recorded: starting over`);
      done = 0;
      seconds = 0;
    }
    ftruncateSync(fd, done * rowBytes);
  }
  const sessionStart = performance.now();
  const firstRow = done;
  let lastPrint = performance.now();
  try {
    while (done < corpus.length) {
      const end = Math.min(done + CHUNK, corpus.length);
      const texts = corpus.slice(done, end).map((r) => r.text);
      const chunkStart = performance.now();
      const m = await encodeWithCache(model, texts, dim, cache, (p) => {
          const now = performance.now();
          if (now - lastPrint < 10_000) return;
          lastPrint = now;
          const rows = done - firstRow + p.done;
          const rate = rows / ((now - sessionStart) / 1000);
          const total = done + p.done;
          log(`encode ${total}/${corpus.length} (${((100 * total) / corpus.length).toFixed(1)}%), ${rate.toFixed(0)} rows/s, ETA ${duration((corpus.length - total) / rate)}`);
      });
      reused += m.reused;
      writeSync(fd, bytesOf(m.data), 0, m.data.byteLength, done * rowBytes);
      fsyncSync(fd);
      seconds += (performance.now() - chunkStart) / 1000;
      done = end;
      const p: Progress = { textsSha256: sha, model: MODEL, dim, chunk: CHUNK, batchSize: BATCH, rowsDone: done, encodeSeconds: seconds };
      writeAtomic(progressFile, JSON.stringify(p, null, 1));
    }
  } finally {
    closeSync(fd);
  }
  const sessionSeconds = (performance.now() - sessionStart) / 1000;
  renameSync(partial, join(OUT, 'corpus.f32'));
  rmSync(progressFile, { force: true });
  return { seconds, sessionRows: corpus.length - firstRow, sessionSeconds, reused };
}

function isNormalized(data: Float32Array, dim: number, rows: number): boolean {
  const step = Math.max(1, Math.floor(rows / 1000));
  for (let r = 0; r < rows; r += step) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += (data[r * dim + i] as number) ** 2;
    if (Math.abs(Math.sqrt(s) - 1) > 1e-3) return false;
  }
  return true;
}

async function main(): Promise<void> {
  log(`search workload "${NAME}" → ${OUT}`);
  log(`model ${MODEL}; data ${DATA}; ${THREADS} threads, batch ${BATCH}, chunks of ${CHUNK}`);
  const { corpus, queries, windows3 } = await buildTexts();
  const sha = sha256Texts(corpus);
  const corpusSources = countSources(corpus);
  const querySources = countSources(queries);
  log(`corpus ${corpus.length} rows: ${JSON.stringify(corpusSources)}`);
  log(`queries ${queries.length} rows: ${JSON.stringify(querySources)}`);
  log(`texts sha256 ${sha}`);
  if (DRY_RUN) return;
  mkdirSync(OUT, { recursive: true });

  const metaFile = join(OUT, 'meta.json');
  if (existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { textsSha256?: string; model?: string };
    if (!FORCE && meta.textsSha256 === sha && meta.model === MODEL) {
      log('meta.json says this workload is already built from these texts with this model; --force rebuilds it');
      return;
    }
    rmSync(metaFile);
  }
  writeAtomic(join(OUT, 'corpus.jsonl'), jsonl(corpus));
  writeAtomic(join(OUT, 'queries.jsonl'), jsonl(queries));

  const model = await loadModel(MODEL, { threads: THREADS });
  const dim = model.dimension;
  log(`loaded ${model.onnxFile} (dim ${dim}, ${THREADS} threads)`);
  const cache = reuseCache(dim);
  const enc = await encodeCorpus(model, corpus, sha, dim, cache);
  if (enc.reused > 0) log(`corpus: ${enc.reused} rows copied from --reuse ${REUSE.join(',')}`);
  log(`corpus encoded: ${duration(enc.seconds)} in all; this run ${enc.sessionRows} rows in ${duration(enc.sessionSeconds)} (${(enc.sessionRows / enc.sessionSeconds).toFixed(1)} rows/s)`);
  const q0 = performance.now();
  const qe = await encodeWithCache(model, queries.map((r) => r.text), dim, cache);
  const qm = new Matrix(queries.length, dim, qe.data);
  if (qe.reused > 0) log(`queries: ${qe.reused} rows copied from --reuse ${REUSE.join(',')}`);
  const querySeconds = (performance.now() - q0) / 1000;
  await model.dispose();
  writeAtomic(join(OUT, 'queries.f32'), bytesOf(qm.data));
  log(`queries encoded: ${queries.length} in ${querySeconds.toFixed(1)} s`);

  // Ground truth: exact float32 top-k by dot product, ties by the lower row (exactSearch's TopK order).
  const data = readF32(join(OUT, 'corpus.f32'));
  if (data.length !== corpus.length * dim) throw new Error(`corpus.f32 holds ${data.length} floats, expected ${corpus.length}×${dim}`);
  const k = Math.min(GT_K, corpus.length);
  const gtRows = new Int32Array(queries.length * k);
  const gtScores = new Float32Array(queries.length * k);
  const g0 = performance.now();
  let lastPrint = g0;
  const QB = 32;
  for (let start = 0; start < queries.length; start += QB) {
    const end = Math.min(start + QB, queries.length);
    const hits = exactSearch(qm.slice(start, end), [{ rows: corpus.length, data }], { k, precision: 'float32', dim });
    hits.forEach((list, j) => {
      if (list.length !== k) throw new Error(`query ${start + j}: ${list.length} hits, expected ${k}`);
      list.forEach((h, r) => {
        gtRows[(start + j) * k + r] = h.row;
        gtScores[(start + j) * k + r] = h.score;
      });
    });
    const now = performance.now();
    if (now - lastPrint >= 10_000 || end === queries.length) {
      lastPrint = now;
      const rate = end / ((now - g0) / 1000);
      log(`ground truth ${end}/${queries.length} queries, ${rate.toFixed(1)} q/s, ETA ${duration((queries.length - end) / rate)}`);
    }
  }
  const gtSeconds = (performance.now() - g0) / 1000;
  writeAtomic(join(OUT, 'gt.i32'), bytesOf(gtRows));
  writeAtomic(join(OUT, 'gt.f32'), bytesOf(gtScores));

  const normalized = isNormalized(data, dim, corpus.length) && isNormalized(qm.data, dim, qm.rows);
  const meta = {
    name: NAME,
    model: MODEL,
    onnxFile: model.onnxFile,
    dim,
    corpusRows: corpus.length,
    queryRows: queries.length,
    gtK: k,
    sources: { ...corpusSources, ...querySources },
    corpusSources,
    querySources,
    createdAt: new Date().toISOString(),
    cpu: cpuModel(),
    logicalCpus: cpus().length,
    threads: THREADS,
    batchSize: BATCH,
    chunkRows: CHUNK,
    encodeSeconds: Number((enc.seconds + querySeconds).toFixed(1)),
    corpusEncodeSeconds: Number(enc.seconds.toFixed(1)),
    queryEncodeSeconds: Number(querySeconds.toFixed(1)),
    corpusRowsPerSecond: Number((corpus.length / enc.seconds).toFixed(1)),
    gtSeconds: Number(gtSeconds.toFixed(1)),
    textsSha256: sha,
    queriesSha256: sha256Texts(queries),
    normalized,
    units: {
      textNormalization: 'whitespace runs → one space, trimmed; identical texts kept once (first row wins)',
      sentenceSplit: SENTENCE_END.source,
      minSentenceWords: 4,
      windows: windows3 ? [2, 3] : [2],
    },
    heldOut: { count: queries.filter((q) => q.source === 'msmarco-heldout-passage').length, seed: SEED },
    limit: LIMIT ?? null,
    reused: REUSE.length > 0 ? { from: REUSE, corpusRows: enc.reused, queryRows: qe.reused } : null,
    dataDir: DATA,
    node: process.version,
  };
  writeAtomic(metaFile, JSON.stringify(meta, null, 2) + '\n');
  for (const f of ['meta.json', 'corpus.f32', 'corpus.jsonl', 'queries.f32', 'queries.jsonl', 'gt.i32', 'gt.f32']) {
    log(`  ${f.padEnd(14)} ${(statSync(join(OUT, f)).size / 1e6).toFixed(1).padStart(8)} MB`);
  }
  log(`done in ${duration((performance.now() - t0) / 1000)}`);
}

await main();
