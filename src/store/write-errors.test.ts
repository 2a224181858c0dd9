// Writes that fail for a reason outside the index (a full disk, a read-only folder, too many metadata fields): each
// is a coded error a caller can act on, no message calls the intact index damaged, and the index keeps its last
// commit, opens and searches. Full disk: a real 2 MiB tmpfs; read-only: a read-only bind mount (root ignores chmod).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCaptured } from '../cli/test-support/run-cli.js';
import { loadModelFromDir } from '../encoder/load-model.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { isSemsearchError, SemsearchError, type ErrorCode } from '../errors.js';
import { MAX_METADATA_FIELDS } from './filter.js';
import { sqliteError, writeError } from './io-errors.js';
import { openIndex } from './search-index.js';
import { cleanBuild, passageMeta, passageText, type Content } from './test-support/living.js';
import { IndexWriter } from './write-index.js';

const BERT = fileURLToPath(new URL('../model/fixtures/models/bert', import.meta.url));
const QUERIES = ['london bridge history', 'coffee and bread recipe'];
/** Words no message about an intact index may use. */
const ALARM = /damaged|rebuild|unexpected/i;

let tmp: string;
let model: SentenceTransformer;
let built: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semsearch-write-errors-'));
  model = await loadModelFromDir(BERT);
  const content = new Map<string, Content>();
  for (let i = 0; i < 60; i++) content.set(`p${i}`, { text: passageText(i), metadata: passageMeta(i) });
  built = await cleanBuild(tmp, 'base', content, model, BERT);
});
after(async () => {
  await model?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

function canMount(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs and a read-only bind mount';
  const probe = mkdtempSync(join(tmpdir(), 'semsearch-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe]);
    return false;
  } catch {
    return 'mount is not permitted here';
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const MOUNTS = { skip: canMount() };

/** The index's committed state, to compare before and after a failed write. */
async function state(dir: string): Promise<{ manifest: string; files: string[]; hits: string[][] }> {
  const index = await openIndex(dir, { model });
  try {
    const hits = (await index.search(QUERIES, 5)).map((h) => h.map((x) => `${x.id} ${x.text}`));
    return { manifest: readFileSync(join(dir, 'manifest.json'), 'utf8'), files: listing(dir), hits };
  } finally {
    await index.close();
  }
}

function listing(dir: string): string[] {
  // The writer lock included: a failed write (one that could not even write the lock's bytes) leaves none behind.
  return [...readdirSync(dir), ...readdirSync(join(dir, 'shards')).map((f) => `shards/${f}`)].sort();
}

/** A failed write's error: this code, naming a file of the index, and no alarm about the index's health. */
function failsWith(code: ErrorCode, dir: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSemsearchError(e), String(e));
    assert.equal(e.code, code, e.message);
    assert.ok(e.file?.startsWith(dir), `names a file of the index: ${e.file}`);
    assert.doesNotMatch(e.message, ALARM);
    return true;
  };
}

/** Fill the file system holding `dir` until `leave` bytes are free; returns the filler to remove. */
let fillers = 0;
function fill(dir: string, leave: number): string {
  const s = statfsSync(dir);
  const filler = join(dir, '..', `filler-${fillers++}`);
  writeFileSync(filler, Buffer.alloc(Math.max(0, s.bavail * s.bsize - leave)));
  return filler;
}

function docs(n: number, from = 1000): { id: string; text: string }[] {
  return Array.from({ length: n }, (_, i) => ({ id: `n${from + i}`, text: passageText(from + i) }));
}

test('a full disk: upsert, delete and compact give DISK_FULL (library and CLI); the index keeps its last commit, opens and searches; the next write after freeing space succeeds', MOUNTS, async () => {
  const mnt = join(tmp, 'small-disk');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  try {
    const dir = join(mnt, 'idx');
    cpSync(built, dir, { recursive: true });
    const before = await state(dir);
    const filler = fill(dir, 24 * 1024);

    const w = await IndexWriter.open(dir, { model });
    // Many new rows: the shard does not fit.
    await assert.rejects(w.upsert(docs(500)), failsWith('DISK_FULL', dir));
    // One row with a long text: the vectors fit, SQLite's rows do not (SQLITE_FULL).
    await assert.rejects(w.upsert([{ id: 'long', text: `${passageText(7)} `.repeat(6000) }]), failsWith('DISK_FULL', dir));
    await assert.rejects(w.compact(), failsWith('DISK_FULL', dir));
    await w.close();
    assert.deepEqual(listing(dir), before.files, 'no temporary or uncommitted file left behind');
    assert.deepEqual(await state(dir), before, 'manifest, files and answers as before');

    // The CLI says the same, in one line with the code, and exits 1.
    const corpus = join(tmp, 'more.tsv');
    writeFileSync(corpus, docs(500).map((d) => `${d.id}\t${d.text}`).join('\n') + '\n');
    const add = await runCaptured(['add', dir, corpus]);
    assert.equal(add.code, 1, add.err);
    assert.match(add.err, /^semsearch add: DISK_FULL: cannot write .* the disk is full \(ENOSPC\); nothing was committed/);
    assert.doesNotMatch(add.err, ALARM);
    const compact = await runCaptured(['compact', dir]);
    assert.match(compact.err, /^semsearch compact: DISK_FULL/);
    // No room at all: even the writer lock cannot be written.
    const full = fill(dir, 0);
    const del = await runCaptured(['delete', dir, 'p1']);
    assert.equal(del.code, 1, del.err);
    assert.match(del.err, /^semsearch delete: DISK_FULL/);
    assert.doesNotMatch(del.err, ALARM);
    rmSync(full);
    assert.deepEqual(await state(dir), before);

    // Space freed: the same writes go through.
    rmSync(filler);
    const again = await IndexWriter.open(dir, { model });
    const r = await again.upsert(docs(500));
    assert.deepEqual([r.generation, r.added, r.live], [1, 500, 560]);
    await again.close();
    const index = await openIndex(dir, { model });
    assert.equal(index.count, 560);
    await index.close();
  } finally {
    execFileSync('umount', ['-l', mnt]);
  }
});

test('a read-only folder: upsert, delete and compact give INDEX_READ_ONLY (library and CLI); the index opens and searches as before', MOUNTS, async () => {
  const src = join(tmp, 'ro-src');
  mkdirSync(src);
  cpSync(built, join(src, 'idx'), { recursive: true });
  const mnt = join(tmp, 'ro-mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['--bind', src, mnt]);
  try {
    execFileSync('mount', ['-o', 'remount,bind,ro', mnt]);
    const dir = join(mnt, 'idx');
    const before = await state(dir);
    await assert.rejects(IndexWriter.open(dir, { model }), failsWith('INDEX_READ_ONLY', dir));
    const corpus = join(tmp, 'ro.tsv');
    writeFileSync(corpus, docs(3).map((d) => `${d.id}\t${d.text}`).join('\n') + '\n');
    for (const argv of [['add', dir, corpus], ['delete', dir, 'p1'], ['compact', dir]]) {
      const r = await runCaptured(argv);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, new RegExp(`^semsearch ${argv[0]}: INDEX_READ_ONLY: cannot write the writer lock .*: its folder is read-only`));
      assert.doesNotMatch(r.err, ALARM);
    }
    // A new index in a read-only folder: the same code, from the first folder it cannot make.
    const fresh = await runCaptured(['index', corpus, '-m', BERT, '-o', join(mnt, 'new-idx')]);
    assert.equal(fresh.code, 1, fresh.err);
    assert.match(fresh.err, /^semsearch index: INDEX_READ_ONLY: cannot write the index folder/);
    assert.deepEqual(await state(dir), before);
  } finally {
    execFileSync('umount', ['-l', mnt]);
  }
});

test(`a write adding more than ${MAX_METADATA_FIELDS} metadata fields is TOO_MANY_FIELDS at once, before anything is encoded or written; up to the cap works`, async () => {
  const dir = join(tmp, 'fields');
  cpSync(built, dir, { recursive: true });
  const before = readFileSync(join(dir, 'manifest.json'), 'utf8');
  const w = await IndexWriter.open(dir, { model });
  try {
    const metadata = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`field${i}`, i]));
    const t = performance.now();
    await assert.rejects(w.upsert([{ id: 'wide', text: 'a passage', metadata }]), (e) => {
      assert.ok(isSemsearchError(e, 'TOO_MANY_FIELDS'), String(e));
      assert.match(e.message, /an index holds at most 256/);
      return true;
    });
    assert.ok(performance.now() - t < 1000, `refused in ${performance.now() - t} ms`);
    assert.equal(readFileSync(join(dir, 'manifest.json'), 'utf8'), before);
    // The index has 3 fields: 253 more fit, one past them does not.
    const fit = Object.fromEntries(Array.from({ length: MAX_METADATA_FIELDS - 3 }, (_, i) => [`f${i}`, i]));
    const r = await w.upsert([{ id: 'wide', text: 'a passage', metadata: fit }]);
    assert.equal(Object.keys(w.committed.fields ?? {}).length, MAX_METADATA_FIELDS);
    assert.equal(r.added, 1);
    await assert.rejects(w.upsert([{ id: 'wider', text: 'a passage', metadata: { one_more: true } }]), (e) => isSemsearchError(e, 'TOO_MANY_FIELDS') && e.field === 'one_more');
    // Fields it has still take values.
    await w.upsert([{ id: 'wider', text: 'a passage', metadata: { f7: 7, year: 2001 } }]);
  } finally {
    await w.close();
  }
});

test('SQLite failures say what happened: only its format check calls the store damaged', () => {
  const file = '/x/docs.sqlite';
  const sqlite = (code: string, message: string): Error => Object.assign(new Error(message), { code });
  const cases: [Error, 'open' | 'read' | 'write', ErrorCode, RegExp][] = [
    [sqlite('SQLITE_FULL', 'database or disk is full'), 'write', 'DISK_FULL', /the disk is full/],
    [sqlite('SQLITE_READONLY', 'attempt to write a readonly database'), 'write', 'INDEX_READ_ONLY', /read-only/],
    [sqlite('SQLITE_CANTOPEN', 'unable to open database file'), 'write', 'INDEX_READ_ONLY', /read-only/],
    [sqlite('SQLITE_BUSY', 'database is locked'), 'write', 'INDEX_LOCKED', /locked/],
    [sqlite('SQLITE_ERROR', 'too many columns on docs'), 'write', 'FILE_WRITE_FAILED', /too many columns.*nothing was committed/],
    [sqlite('SQLITE_IOERR_READ', 'disk I/O error'), 'read', 'FILE_NOT_FOUND', /I\/O error/],
  ];
  for (const [cause, doing, code, message] of cases) {
    const e = sqliteError(file, doing, cause);
    assert.equal(e.code, code, cause.message);
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, ALARM, cause.message);
    assert.equal(e.file, file);
  }
  for (const cause of [sqlite('SQLITE_CORRUPT', 'database disk image is malformed'), sqlite('SQLITE_NOTADB', 'file is not a database')]) {
    const e = sqliteError(file, 'read', cause);
    assert.equal(e.code, 'INDEX_CORRUPT');
    assert.match(e.message, /damaged/);
  }
  const coded = new SemsearchError('UNKNOWN_DOCUMENT', 'x');
  assert.equal(sqliteError(file, 'write', coded), coded);
});

test('file system failures of a write: ENOSPC and EDQUOT are DISK_FULL, EROFS, EACCES and EPERM INDEX_READ_ONLY, the rest FILE_WRITE_FAILED', () => {
  const errno = (code: string): Error => Object.assign(new Error(`${code}: failed`), { code });
  const want: Record<string, ErrorCode> = { ENOSPC: 'DISK_FULL', EDQUOT: 'DISK_FULL', EROFS: 'INDEX_READ_ONLY', EACCES: 'INDEX_READ_ONLY', EPERM: 'INDEX_READ_ONLY', EIO: 'FILE_WRITE_FAILED' };
  for (const [code, expected] of Object.entries(want)) {
    const e = writeError('/x/shards/s.f32', 'the shard /x/shards/s.f32', errno(code));
    assert.equal(e.code, expected, code);
    assert.equal(e.file, '/x/shards/s.f32');
    assert.match(e.message, /nothing was committed and the index is as its last commit left it/);
    assert.doesNotMatch(e.message, ALARM);
  }
  // A native library's failure without an errno, on a disk found full: DISK_FULL; an errno wins over that guess.
  assert.equal(writeError('/x/g', 'the graph', new Error('write failed'), true).code, 'DISK_FULL');
  assert.equal(writeError('/x/g', 'the graph', errno('EROFS'), true).code, 'INDEX_READ_ONLY');
});
