// kill -9 at random moments of writes (semsearch add, delete, compact, and POST/DELETE on a server), then prove the
// index: every acknowledged write is there, no unacknowledged half-write shows, and search (graph included) equals
// a clean build of the same content. Used by crash.test.ts (a few trials) and scripts/crash-writes.ts (many).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Index as UsearchIndex } from 'usearch';
import type { SentenceTransformer } from '../../encoder/sentence-transformer.js';
import { buildAnnIndex } from '../ann.js';
import { DocStore } from '../doc-store.js';
import { DEFAULT_DOCS_FILE, readManifest } from '../manifest.js';
import { openIndex } from '../search-index.js';
import { IndexWriter, type WriteDocument } from '../write-index.js';
import { WRITER_LOCK } from '../writer-lock.js';
import { seededRandom } from '../../tensor/random.js';
import { assertSameHits, cleanBuild, passageMeta, passageText, type Content } from './living.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');
export const CRASH_KINDS = ['add', 'delete', 'compact', 'server'] as const;
export type CrashKind = (typeof CRASH_KINDS)[number];
const QUERIES = ['london bridge history', 'coffee and bread recipe', 'vector search engine', 'winter snow mountain', 'passage 7 about music'];

/** One atomic write as the trial sends it, and what it does to the content. */
type Op = { kind: 'upsert'; docs: WriteDocument[] } | { kind: 'delete'; ids: string[] } | { kind: 'compact' };

function apply(content: Map<string, Content>, op: Op): void {
  if (op.kind === 'upsert') for (const d of op.docs) content.set(d.id, { text: d.text, ...(d.metadata !== undefined ? { metadata: d.metadata } : {}) });
  if (op.kind === 'delete') for (const id of op.ids) content.delete(id);
}

export interface TrialResult {
  kind: CrashKind;
  /** Writes acknowledged before the kill (lines printed, HTTP 200s). */
  acked: number;
  /** Writes the recovered index holds: acked, or acked + 1 when the one in flight had committed. */
  committed: number;
  /** Whether the process was still running when killed (false: it had finished first). */
  killedMidway: boolean;
  delayMs: number;
  /** What the next writer undid: uncommitted SQLite rows and deletes, files the manifest does not name. */
  recovered: { rows: number; deletes: number; files: number };
}

export interface CrashBench {
  dir: string;
  base: string;
  baseContent: Map<string, Content>;
  model: SentenceTransformer;
  modelRef: string;
}

/** The index every trial starts from: 60 passages with metadata, an HNSW graph, and three deletes for compact to drop. */
export async function prepareCrashBench(dir: string, model: SentenceTransformer, modelRef: string): Promise<CrashBench> {
  mkdirSync(dir, { recursive: true });
  const content = new Map<string, Content>();
  for (let i = 0; i < 60; i++) content.set(`p${i}`, { text: passageText(i), metadata: passageMeta(i) });
  const base = await cleanBuild(dir, 'crash-base', content, model, modelRef);
  await buildAnnIndex(base, { threads: 1 });
  const w = await IndexWriter.open(base, { model });
  await w.delete(['p10', 'p11', 'p12']);
  await w.close();
  for (const id of ['p10', 'p11', 'p12']) content.delete(id);
  return { dir, base, baseContent: content, model, modelRef };
}

function cli(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `check` holds (polled every 2 ms), or after `timeoutMs`. */
async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check() && Date.now() < end) await sleep(2);
}

/** The files of an index folder and its shards/ now. */
function filesOf(dir: string): Set<string> {
  const shards = join(dir, 'shards');
  return new Set([...readdirSync(dir), ...(existsSync(shards) ? readdirSync(shards).map((f) => `shards/${f}`) : [])]);
}

/**
 * Half the trials aim at the commit itself: they wait for the write's first new file (a shard, a graph or a store,
 * written before the SQLite transaction and the manifest) and kill within 20 ms of it. The others kill after a
 * random delay from a coarser trigger, anywhere in the run.
 */
async function aimAtCommit(dir: string, child: ChildProcess, random: () => number): Promise<boolean> {
  if (random() < 0.5) return false;
  const before = filesOf(dir);
  await until(() => child.exitCode !== null || [...filesOf(dir)].some((f) => !before.has(f) && f !== WRITER_LOCK), 60_000);
  await sleep(Math.floor(random() * 20));
  return true;
}

function killNow(child: ChildProcess): boolean {
  const alive = child.exitCode === null && child.signalCode === null;
  child.kill('SIGKILL');
  return alive;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/** Lines a child has printed so far, counted as they arrive. */
function lines(child: ChildProcess, re: RegExp): { count: () => number; text: () => string } {
  let buf = '';
  let n = 0;
  child.stdout?.on('data', (d) => {
    buf += String(d);
    n = buf.split('\n').filter((l) => re.test(l)).length;
  });
  child.stderr?.on('data', (d) => void (buf += String(d)));
  return { count: () => n, text: () => buf };
}

/** How long after its trigger each kind of write is killed, at most: about the length of the write itself here. */
const KILL_WINDOW_MS: Record<CrashKind, number> = { add: 120, delete: 40, compact: 60, server: 60 };

/** One trial: copy the bench index, run a write of `kind`, kill it at a random moment, recover and verify. */
export async function crashTrial(bench: CrashBench, kind: CrashKind, seed: number): Promise<TrialResult> {
  // A random generator per trial, so a failing trial can be rerun by its seed.
  const random = seededRandom(seed);
  const dir = join(bench.dir, `trial-${seed}-${kind}`);
  cpSync(bench.base, dir, { recursive: true });
  const ops: Op[] = [];
  let acked = 0;
  let killedMidway = false;
  const delayMs = Math.floor(random() * KILL_WINDOW_MS[kind]);
  if (kind === 'add') {
    // 20 passages, 4 commits of 5: new ids and replacements of live ones.
    const docs: WriteDocument[] = Array.from({ length: 20 }, (_, i) => ({ id: i % 4 === 0 ? `p${20 + i}` : `a${seed}-${i}`, text: passageText(3000 + seed * 20 + i) }));
    for (let i = 0; i < docs.length; i += 5) ops.push({ kind: 'upsert', docs: docs.slice(i, i + 5) });
    const file = join(bench.dir, `add-${seed}.tsv`);
    writeFileSync(file, docs.map((d) => `${d.id}\t${d.text}`).join('\n') + '\n');
    const child = cli(['add', dir, file, '--commit-size', '5']);
    const out = lines(child, /^committed generation/);
    // After 0 to 3 commits; with none yet, somewhere in the model load and the first write.
    const after = Math.floor(random() * 4);
    await until(() => out.count() >= after || (after === 0 && existsSync(join(dir, WRITER_LOCK))), 60_000);
    if (!(await aimAtCommit(dir, child, random))) await sleep(after === 0 ? Math.floor(random() * 800) : delayMs);
    killedMidway = killNow(child);
    await exited(child);
    acked = out.count();
  } else if (kind === 'delete' || kind === 'compact') {
    ops.push(kind === 'delete' ? { kind: 'delete', ids: ['p1', 'p2', 'p30', 'p59'] } : { kind: 'compact' });
    const child = cli(kind === 'delete' ? ['delete', dir, 'p1', 'p2', 'p30', 'p59'] : ['compact', dir]);
    const out = lines(child, /^committed generation/);
    // The lock appears when the writer opens; the write follows within milliseconds.
    await until(() => existsSync(join(dir, WRITER_LOCK)), 60_000);
    if (!(await aimAtCommit(dir, child, random))) await sleep(delayMs);
    killedMidway = killNow(child);
    await exited(child);
    acked = out.count();
  } else {
    const child = cli(['serve', dir, '--port', '0', '--workers', '2', '--threads', '1']);
    const out = lines(child, /listening on/);
    await until(() => out.count() > 0, 60_000);
    const url = /listening on (http:\/\/\S+)/.exec(out.text())?.[1];
    assert.ok(url !== undefined, `the server did not start: ${out.text()}`);
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${url}/ready`).catch(() => undefined);
      if (r?.status === 200) break;
      await sleep(50);
    }
    const plan: Op[] = [
      { kind: 'upsert', docs: [0, 1, 2].map((i) => ({ id: `s${seed}-${i}`, text: passageText(5000 + seed * 10 + i), metadata: { year: 2040 + i } })) },
      { kind: 'delete', ids: ['p5'] },
      { kind: 'upsert', docs: [{ id: 'p6', text: passageText(6000 + seed) }, { id: `s${seed}-9`, text: passageText(6100 + seed) }] },
      { kind: 'delete', ids: ['p7'] },
    ];
    const killAfter = Math.floor(random() * plan.length);
    const send = async (op: Op): Promise<boolean> => {
      const r =
        op.kind === 'upsert'
          ? await fetch(`${url}/documents`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ documents: op.docs }) })
          : await fetch(`${url}/documents/${encodeURIComponent((op as { ids: string[] }).ids[0] as string)}`, { method: 'DELETE' });
      await r.text();
      return r.status === 200;
    };
    for (const op of plan) {
      ops.push(op);
      if (ops.length - 1 === killAfter) {
        // Kill while this request is in flight.
        const pending = send(op).catch(() => false);
        if (!(await aimAtCommit(dir, child, random))) await sleep(delayMs);
        killedMidway = killNow(child);
        if (await pending) acked++;
        break;
      }
      assert.ok(await send(op), 'a write before the kill succeeds');
      acked++;
    }
    await exited(child);
  }
  return verify(bench, dir, kind, ops, acked, killedMidway, delayMs);
}

async function verify(bench: CrashBench, dir: string, kind: CrashKind, ops: readonly Op[], acked: number, killedMidway: boolean, delayMs: number): Promise<TrialResult> {
  // The next writer recovers: what the killed one left uncommitted is undone and its files removed.
  const w = await IndexWriter.open(dir, { model: bench.model });
  const recovered = { rows: w.recovered.rows, deletes: w.recovered.deletes, files: w.recovered.files.length };
  await w.close();
  const m = readManifest(dir);
  const store = new DocStore(join(dir, m.docs ?? DEFAULT_DOCS_FILE), { readonly: true });
  const got = new Map<string, Content>();
  for (const d of store.liveDocs({ count: m.count, generation: m.generation ?? 0 }, m.fields ?? {})) {
    assert.ok(!got.has(d.id), `${kind}: ${d.id} is live twice`);
    got.set(d.id, { text: d.text, ...(d.metadata !== undefined ? { metadata: d.metadata } : {}) });
  }
  store.close();
  // The recovered content is the base plus a whole number of writes: every acknowledged one, and the one in flight
  // only if it committed whole.
  let committed = -1;
  for (const j of [acked, acked + 1]) {
    if (j > ops.length) continue;
    const want = new Map(bench.baseContent);
    for (const op of ops.slice(0, j)) apply(want, op);
    const same = want.size === got.size && [...want].every(([id, c]) => got.get(id)?.text === c.text && JSON.stringify(got.get(id)?.metadata ?? {}) === JSON.stringify(c.metadata ?? {}));
    if (same && (m.generation ?? 0) === 1 + j) {
      committed = j;
      break;
    }
  }
  assert.ok(committed >= 0, `${kind}: after ${acked} acknowledged writes the index holds ${got.size} documents at generation ${m.generation}, matching no whole-write state`);
  // Nothing the manifest does not name is left in the folder.
  const names = new Set([...m.shards.flatMap((s) => [s.file, ...(s.rescoreFile !== undefined ? [s.rescoreFile] : [])])]);
  for (const f of readdirSync(join(dir, 'shards'))) assert.ok(names.has(`shards/${f}`), `${kind}: stray shard file ${f}`);
  for (const f of readdirSync(dir)) {
    // SQLite may leave an empty (not hot) journal beside the live store when a writer is killed as it starts one.
    const store = m.docs ?? DEFAULT_DOCS_FILE;
    const stray = /\.tmp$/.test(f) || (/^ann-/.test(f) && f !== m.ann?.file) || (/^docs/.test(f) && f !== store && f !== `${store}-journal`);
    assert.ok(!stray, `${kind}: stray file ${f}`);
  }

  const index = await openIndex(dir, { model: bench.model });
  const clean = await openIndex(await cleanBuild(join(dir, '..'), `${dir.split('/').pop()}-clean`, got, bench.model, bench.modelRef), { model: bench.model });
  try {
    const exact = await index.search(QUERIES, 10, { exact: true });
    assertSameHits(exact, await clean.search(QUERIES, 10), `${kind}: scan vs a clean build`);
    // The graph holds the nodes its manifest entry counts (rows it was given; deleted ones stay as tombstones until
    // a rebuild), every live row is in it or after it (searched exactly), and a wide walk finds what the scan finds.
    assert.ok(m.ann !== undefined, `${kind}: the graph is still listed`);
    const g = new UsearchIndex({ dimensions: m.dim, metric: 'ip' as never, quantization: m.ann.quantization as never, connectivity: m.ann.connectivity, expansion_add: m.ann.expansionAdd, expansion_search: 64, multi: false });
    g.load(join(dir, m.ann.file));
    const rows = m.ann.rows ?? m.count;
    assert.equal(g.size(), m.ann.nodes ?? rows - (m.deleted ?? 0), `${kind}: graph size`);
    const live = (await index.search(QUERIES[0] as string, got.size, { exact: true }))[0] ?? [];
    assert.deepEqual(live.filter((h) => h.index < rows && !g.contains(BigInt(h.index))).map((h) => h.id), [], `${kind}: live rows missing from the graph`);
    assertSameHits(await index.search(QUERIES, 10, { ef: Math.max(1, got.size - 1) }), exact, `${kind}: graph vs scan`);
    assertSameHits(await index.search(QUERIES, 10, { ef: 512 }), exact, `${kind}: graph at full ef vs scan`);
    // And the index takes writes again.
    await index.upsert([{ id: 'after-crash', text: 'a passage written after the crash about the harbour' }]);
    assert.equal((await index.search('a passage written after the crash about the harbour', 1))[0]?.[0]?.id, 'after-crash');
  } finally {
    await index.close();
    await clean.close();
  }
  return { kind, acked, committed, killedMidway, delayMs, recovered };
}
