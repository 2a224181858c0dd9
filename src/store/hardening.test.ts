// Damaged, hand-edited and read-only indexes: each gives a coded error naming the file, or works where it should.
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs, { statfsSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { isSemsearchError } from '../errors.js';
import { buildAnnIndex } from './ann.js';
import { buildIndex } from './build-index.js';
import { openIndex } from './search-index.js';
import { WRITER_LOCK } from './writer-lock.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const QUERY = 'how big is london';

let tmp: string;
let built: string;
let model: SentenceTransformer;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-hardening-'));
  const corpus = join(tmp, 'c.tsv');
  writeFileSync(corpus, Array.from({ length: 120 }, (_, i) => `p${i}\tpassage number ${i} about ${['london', 'paris', 'rice', 'flu'][i % 4]}`).join('\n') + '\n');
  model = await loadModelFromDir(BERT);
  built = join(tmp, 'built');
  await buildIndex({ corpus, out: built, model, modelRef: BERT, shardSize: 50 });
});
after(async () => {
  await model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** A fresh copy of the built index to damage. */
function copy(name: string): string {
  const dir = join(tmp, name);
  cpSync(built, dir, { recursive: true });
  return dir;
}

const corruptAt = (file: string, field?: string) => (e: unknown) =>
  isSemsearchError(e, 'INDEX_CORRUPT') && e.file === file && (field === undefined || e.field === field) && !/\n\s+at /.test(e.message);

test('a passage row missing from docs.sqlite, with the row count unchanged, refuses to open (never a hit with an empty id)', async () => {
  const dir = copy('hole');
  const db = new Database(join(dir, 'docs.sqlite'));
  db.prepare('DELETE FROM docs WHERE idx = 5').run();
  db.prepare('INSERT INTO docs (idx, id, text) VALUES (9999, ?, ?)').run('extra', 'a row past the end');
  db.close();
  await assert.rejects(openIndex(dir, { model }), (e) => corruptAt(join(dir, 'docs.sqlite'))(e) && /holds 119 of the 120 passages/.test((e as Error).message));
});

test('a damaged docs.sqlite (truncated, zero bytes, random bytes) is INDEX_CORRUPT naming it', async () => {
  for (const [name, damage] of [
    ['truncated', (f: string) => truncateSync(f, Math.floor(readFileSync(f).length / 2))],
    ['empty', (f: string) => truncateSync(f, 0)],
    ['random', (f: string) => writeFileSync(f, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 256)))],
  ] as const) {
    const dir = copy(`docs-${name}`);
    const f = join(dir, 'docs.sqlite');
    damage(f);
    await assert.rejects(openIndex(dir, { model }), corruptAt(f), name);
  }
});

test('a hand-edited manifest is INDEX_CORRUPT naming the field: a shard file of null, a graph over no vectors, a bad graph scale', async () => {
  const dir = copy('manifest-null');
  const file = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as { shards: { file: unknown }[]; count: number };
  (m.shards[0] as { file: unknown }).file = null;
  writeFileSync(file, JSON.stringify(m));
  await assert.rejects(openIndex(dir, { model }), corruptAt(file, 'shards[0].file'));

  const empty = copy('manifest-graph');
  await buildAnnIndex(empty, { quantization: 'f32' });
  const f2 = join(empty, 'manifest.json');
  const m2 = JSON.parse(readFileSync(f2, 'utf8')) as { shards: unknown[]; count: number };
  m2.shards = [];
  m2.count = 0;
  writeFileSync(f2, JSON.stringify(m2));
  await assert.rejects(openIndex(empty, { model }), corruptAt(f2, 'ann'));

  const scaled = copy('manifest-scale');
  await buildAnnIndex(scaled, { quantization: 'i8' });
  const f3 = join(scaled, 'manifest.json');
  const m3 = JSON.parse(readFileSync(f3, 'utf8')) as { ann: { scale: unknown } };
  m3.ann.scale = -2;
  writeFileSync(f3, JSON.stringify(m3));
  await assert.rejects(openIndex(scaled, { model }), corruptAt(f3, 'ann.scale'));
});

test('a complete index leaves WAL mode, and opening it writes nothing into its folder', async () => {
  const dir = copy('ro-files');
  assert.ok(!existsSync(join(dir, 'docs.sqlite-wal')) && !existsSync(join(dir, 'docs.sqlite-shm')));
  const db = new Database(join(dir, 'docs.sqlite'), { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'delete');
  db.close();
  const before = readdirSync(dir).sort();
  const index = await openIndex(dir, { model });
  const [hits] = await index.search(QUERY, 3);
  assert.equal(hits?.length, 3);
  assert.deepEqual(readdirSync(dir).sort(), before);
  await index.close();
  assert.deepEqual(readdirSync(dir).sort(), before);
});

// A read-only mount needs root (as CI runs); a non-root developer's run checks the two facts above instead.
test('an index on a read-only mount can be opened and searched', { skip: process.getuid?.() !== 0 ? 'needs root for a read-only bind mount' : false }, async () => {
  const src = copy('ro-src');
  // The same index with its store left in WAL mode, as builds before this fix left it.
  const wal = join(src, 'wal');
  mkdirSync(wal);
  for (const f of readdirSync(built)) cpSync(join(built, f), join(wal, f), { recursive: true });
  const db = new Database(join(wal, 'docs.sqlite'));
  db.pragma('journal_mode = WAL');
  db.close();
  const mnt = join(tmp, 'ro-mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['--bind', src, mnt]);
  try {
    execFileSync('mount', ['-o', 'remount,bind,ro', mnt]);
    assert.throws(() => writeFileSync(join(mnt, 'probe'), 'x'), /EROFS|read-only/i);
    const index = await openIndex(mnt, { model });
    const [hits] = await index.search(QUERY, 3);
    assert.equal(hits?.length, 3);
    await index.close();
    const store = join(mnt, 'wal', 'docs.sqlite');
    await assert.rejects(openIndex(join(mnt, 'wal'), { model }), (e) => isSemsearchError(e, 'INDEX_READ_ONLY') && e.file === store);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

test('a second writer on the same index folder gets INDEX_LOCKED naming the writer; a dead writer\'s lock is taken over', async () => {
  const dir = copy('locked');
  const lock = join(dir, WRITER_LOCK);
  // A live writer: this process, as another builder would appear.
  writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), id: 'other-writer' }));
  const corpus = join(tmp, 'c.tsv');
  await assert.rejects(
    buildIndex({ corpus, out: dir, model, modelRef: BERT, shardSize: 50 }),
    (e) => isSemsearchError(e, 'INDEX_LOCKED') && e.file === lock && e.message.includes(`being written by PID ${process.pid}`),
  );
  await assert.rejects(buildAnnIndex(dir), (e) => isSemsearchError(e, 'INDEX_LOCKED'));
  // A writer killed with -9 leaves its lock behind: its PID is gone, so the next run takes over.
  const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid as number;
  writeFileSync(lock, JSON.stringify({ pid: dead, host: hostname(), id: 'killed-writer' }));
  const r = await buildIndex({ corpus, out: dir, model, modelRef: BERT, shardSize: 50 });
  assert.equal(r.manifest.count, 120);
  assert.ok(!existsSync(lock), 'released after the build');
});

test('two index processes started on one folder: one builds, the other stops with INDEX_LOCKED, nothing is blamed on the corpus', async () => {
  const out = join(tmp, 'race');
  const corpus = join(tmp, 'c.tsv');
  const main = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
  const start = () =>
    new Promise<{ code: number | null; err: string }>((ok) => {
      const p = spawn(process.execPath, ['--import', 'tsx', main, 'index', corpus, '-m', BERT, '-o', out, '--shard-size', '10'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d) => (err += String(d)));
      p.on('close', (code) => ok({ code, err }));
    });
  const [a, b] = await Promise.all([start(), start()]);
  const codes = [a.code, b.code].sort();
  const loser = a.code === 0 ? b : a;
  // Either both ran one after the other (the second found it complete), or one lost the lock.
  assert.ok(codes[0] === 0, `${a.err}\n${b.err}`);
  if (codes[1] !== 0) assert.match(loser.err, /INDEX_LOCKED: the index at .* is being written by PID \d+/);
  assert.doesNotMatch(a.err + b.err, /DUPLICATE_ENTRY|UNIQUE|ENOENT/);
  const index = await openIndex(out, { model });
  assert.equal(index.count, 120);
  await index.close();
});

test('a folder corpus with a dangling or folder-pointing .txt link is a coded error naming the link', async () => {
  for (const [name, target] of [
    ['dangling', join(tmp, 'no-such-file.txt')],
    ['folder', tmp],
  ] as const) {
    const folder = join(tmp, `links-${name}`);
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.txt'), 'London is the capital of England.');
    symlinkSync(target, join(folder, 'b.txt'));
    await assert.rejects(
      buildIndex({ corpus: folder, out: join(tmp, `links-out-${name}`), model, modelRef: BERT }),
      (e) => isSemsearchError(e, 'FILE_NOT_FOUND') && e.file === join(folder, 'b.txt') && /symbolic link to a file that does not exist|is a folder/.test((e as Error).message),
    );
  }
});

test('the graph file and the folder renames are fsynced before the manifest names them', async () => {
  const dir = copy('fsync');
  const opened = new Map<number, string>();
  const synced: string[] = [];
  const realOpen = fs.openSync;
  const realSync = fs.fsyncSync;
  const o = mock.method(fs, 'openSync', (p: string, ...rest: unknown[]) => {
    const fd = (realOpen as (...a: unknown[]) => number)(p, ...rest);
    opened.set(fd, String(p));
    return fd;
  });
  const f = mock.method(fs, 'fsyncSync', (fd: number) => {
    synced.push(opened.get(fd) ?? `fd ${fd}`);
    return realSync(fd);
  });
  syncBuiltinESMExports();
  try {
    const ann = await buildAnnIndex(dir, { quantization: 'f32' });
    assert.ok(synced.includes(join(dir, `${ann.file}.tmp`)), `graph bytes fsynced: ${synced.join(', ')}`);
    assert.ok(synced.filter((p) => p === dir).length >= 2, `folder fsynced after the graph rename and the manifest rename: ${synced.join(', ')}`);
  } finally {
    o.mock.restore();
    f.mock.restore();
    syncBuiltinESMExports();
  }
});

/** Run `fn` on a fresh tmpfs of `size` mounted under tmp (a small disk that fills up), unmounted after. */
async function onSmallDisk(name: string, size: string, fn: (mnt: string) => Promise<void>): Promise<void> {
  const mnt = join(tmp, name);
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
  try {
    await fn(mnt);
  } finally {
    execFileSync('umount', [mnt]);
  }
}

const SMALL_DISK = { skip: process.getuid?.() !== 0 ? 'needs root to mount a small tmpfs' : false };

test('a full disk: DISK_FULL naming the file, no temporary file left, the last manifest intact', SMALL_DISK, async () => {
  await onSmallDisk('full', '96k', async (mnt) => {
    const corpus = join(tmp, 'big.tsv');
    writeFileSync(corpus, Array.from({ length: 3000 }, (_, i) => `q${i}\t${'a long passage about london and paris '.repeat(8)}${i}`).join('\n') + '\n');
    const out = join(mnt, 'idx');
    await assert.rejects(buildIndex({ corpus, out, model, modelRef: BERT, shardSize: 100 }), (e) => {
      assert.ok(isSemsearchError(e), String(e));
      assert.ok(['DISK_FULL'].includes(e.code), `${e.code}: ${e.message}`);
      assert.ok(e.file?.startsWith(out), `names a file in the index: ${e.file}`);
      return true;
    });
    const left = (readdirSync(join(out, 'shards')) as string[]).concat(readdirSync(out)).filter((n) => n.endsWith('.tmp'));
    assert.deepEqual(left, []);
    if (existsSync(join(out, 'manifest.json'))) {
      const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { count: number; shards: unknown[] };
      assert.equal(m.shards.length * 100, m.count, 'the manifest lists only whole shards');
    }
  });
});

test('a graph that does not fit the disk: DISK_FULL naming it, no partial graph, the manifest untouched', SMALL_DISK, async () => {
  await onSmallDisk('full-graph', '1m', async (mnt) => {
    const small = join(mnt, 'idx');
    cpSync(built, small, { recursive: true });
    const before = readFileSync(join(small, 'manifest.json'), 'utf8');
    // Leave room for the lock file, not for the graph (120 × 32 float32 and its links: over 16 KiB).
    const st = statfsSync(mnt);
    writeFileSync(join(mnt, 'filler'), Buffer.alloc(st.bavail * st.bsize - 12 * 1024));
    await assert.rejects(buildAnnIndex(small, { quantization: 'f32' }), (e) => isSemsearchError(e, 'DISK_FULL') && (e.file ?? '') === join(small, 'ann-f32.usearch'));
    assert.deepEqual(readdirSync(small).filter((n) => n.endsWith('.tmp')), [], 'no partial graph left behind');
    assert.equal(readFileSync(join(small, 'manifest.json'), 'utf8'), before, 'the manifest is untouched');
  });
});

test('a corpus cut below the resume point, extended after completion, or edited in indexed lines is CORPUS_CHANGED saying what changed', async () => {
  const lines = Array.from({ length: 120 }, (_, i) => `c${i}\tcorpus line ${i} about ${['tea', 'rain', 'maps'][i % 3]}`);
  const corpus = join(tmp, 'changing.tsv');
  // Cut: index 60 with a limit, then the file shrinks to 30 lines.
  writeFileSync(corpus, lines.join('\n') + '\n');
  const cut = join(tmp, 'changing-cut');
  await buildIndex({ corpus, out: cut, model, modelRef: BERT, shardSize: 20, limit: 60 });
  writeFileSync(corpus, lines.slice(0, 30).join('\n') + '\n');
  await assert.rejects(buildIndex({ corpus, out: cut, model, modelRef: BERT, shardSize: 20 }), (e) => isSemsearchError(e, 'CORPUS_CHANGED') && /has 30 records, but the index .* was built from its first 60/.test((e as Error).message));

  // Appended after completion: not "added 0", but the count and the first new id.
  writeFileSync(corpus, lines.slice(0, 100).join('\n') + '\n');
  const grown = join(tmp, 'changing-grown');
  await buildIndex({ corpus, out: grown, model, modelRef: BERT, shardSize: 20 });
  const again = await buildIndex({ corpus, out: grown, model, modelRef: BERT, shardSize: 20 });
  assert.equal(again.added, 0, 'an unchanged corpus is simply complete');
  writeFileSync(corpus, lines.join('\n') + '\n');
  await assert.rejects(
    buildIndex({ corpus, out: grown, model, modelRef: BERT, shardSize: 20 }),
    (e) => isSemsearchError(e, 'CORPUS_CHANGED') && e.line === 101 && /has 20 records after the 100 that the complete index .* holds \(from c100\)/.test((e as Error).message),
  );

  // Edited: same ids, one text changed before the resume point (partial) and in a complete index.
  const edited = lines.slice(0, 100).map((l, i) => (i === 7 ? l.replace('corpus line 7', 'corpus line seven') : l));
  writeFileSync(corpus, edited.join('\n') + '\n');
  await assert.rejects(buildIndex({ corpus, out: grown, model, modelRef: BERT, shardSize: 20 }), (e) => isSemsearchError(e, 'CORPUS_CHANGED') && /first 100 records differ/.test((e as Error).message));
  writeFileSync(corpus, lines.join('\n') + '\n');
  const partial = join(tmp, 'changing-partial');
  await buildIndex({ corpus, out: partial, model, modelRef: BERT, shardSize: 20, limit: 40 });
  writeFileSync(corpus, lines.map((l, i) => (i === 3 ? l.replace('line 3', 'line three') : l)).join('\n') + '\n');
  await assert.rejects(buildIndex({ corpus, out: partial, model, modelRef: BERT, shardSize: 20 }), (e) => isSemsearchError(e, 'CORPUS_CHANGED') && /first 40 records differ/.test((e as Error).message));
});

test('HNSW builds on one thread are reproducible: two builds of one index give the same graph, byte for byte, and the same hits', async () => {
  const a = copy('hnsw-a');
  const b = copy('hnsw-b');
  // The default uses every core, where the insertion order (and so the graph) varies; one thread is the opt-in.
  const ga = await buildAnnIndex(a, { quantization: 'f16', threads: 1 });
  const gb = await buildAnnIndex(b, { quantization: 'f16', threads: 1 });
  assert.equal(ga.sha256, gb.sha256);
  const ia = await openIndex(a, { model });
  const ib = await openIndex(b, { model });
  const queries = ['london', 'paris rice', 'flu season', 'passage number 7', 'tea', 'maps', 'rain', 'how big is london'];
  assert.deepEqual(await ia.search(queries, 10), await ib.search(queries, 10));
  await ia.close();
  await ib.close();
});
