import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobPath, linkPointer, pointerPath, readRef, repoCache, snapshotDir, writeRef } from './cache.js';
import { isSemsearchError } from '../errors.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const OTHER = 'fedcba9876543210fedcba9876543210fedcba98';

const root = mkdtempSync(join(tmpdir(), 'semsearch-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));

function tmp(): string {
  return mkdtempSync(join(root, 'c-'));
}

test('folder names follow huggingface_hub: models--owner--name/{blobs,snapshots,refs}', () => {
  const c = repoCache('/cache', 'sentence-transformers/msmarco-distilbert-dot-v5');
  assert.equal(c.storage, join('/cache', 'models--sentence-transformers--msmarco-distilbert-dot-v5'));
  assert.equal(blobPath(c, 'abc123'), join(c.storage, 'blobs', 'abc123'));
  assert.equal(pointerPath(c, COMMIT, 'onnx/model.onnx'), join(c.storage, 'snapshots', COMMIT, 'onnx', 'model.onnx'));
  assert.equal(repoCache('/cache', 'gpt2').folderName, 'models--gpt2');
});

test('a file listing or ETag that would leave the cache is refused', () => {
  const c = repoCache('/cache', 'o/n');
  assert.throws(() => pointerPath(c, COMMIT, '../../../etc/passwd'), (e) => isSemsearchError(e, 'HUB_HTTP_ERROR'));
  assert.throws(() => blobPath(c, '../x'), (e) => isSemsearchError(e, 'HUB_HTTP_ERROR'));
});

test('refs hold the bare commit id (no newline, as Python reads it verbatim) and are only rewritten when moved', async () => {
  const c = repoCache(tmp(), 'o/n');
  await writeRef(c, 'main', COMMIT);
  assert.equal(readFileSync(join(c.storage, 'refs', 'main'), 'utf8'), COMMIT);
  assert.equal(await readRef(c, 'main'), COMMIT);
  const before = lstatSync(join(c.storage, 'refs', 'main')).ino;
  await writeRef(c, 'main', COMMIT);
  assert.equal(lstatSync(join(c.storage, 'refs', 'main')).ino, before, 'an up-to-date ref is left alone');
  await writeRef(c, 'main', OTHER);
  assert.equal(await readRef(c, 'main'), OTHER);
  await writeRef(c, 'refs/pr/1', COMMIT);
  assert.equal(readFileSync(join(c.storage, 'refs', 'refs', 'pr', '1'), 'utf8'), COMMIT);
  await writeRef(c, COMMIT, COMMIT);
  assert.equal(await readRef(c, COMMIT), COMMIT, 'a commit id needs no ref');
  assert.equal(await readRef(c, 'v9'), undefined);
});

test('snapshot files are relative symlinks into blobs/, at any depth', async () => {
  const c = repoCache(tmp(), 'o/n');
  const blob = blobPath(c, 'aa'.repeat(32));
  mkdirSync(join(c.storage, 'blobs'), { recursive: true });
  writeFileSync(blob, 'bytes');
  const top = pointerPath(c, COMMIT, 'config.json');
  const deep = pointerPath(c, COMMIT, 'onnx/model.onnx');
  assert.equal(await linkPointer(blob, top), 'symlink');
  assert.equal(await linkPointer(blob, deep), 'symlink');
  assert.equal(readlinkSync(top), join('..', '..', 'blobs', 'aa'.repeat(32)));
  assert.equal(readlinkSync(deep), join('..', '..', '..', 'blobs', 'aa'.repeat(32)));
  assert.equal(readFileSync(deep, 'utf8'), 'bytes');
  // Relinking over an existing pointer replaces it in one step.
  assert.equal(await linkPointer(blob, top), 'symlink');
  assert.equal(readFileSync(top, 'utf8'), 'bytes');
  assert.ok(snapshotDir(c, COMMIT).endsWith(COMMIT));
});

test('where the file system refuses symlinks, the blob is copied into the snapshot', async () => {
  const c = repoCache(tmp(), 'o/n');
  const blob = blobPath(c, 'bb'.repeat(20));
  mkdirSync(join(c.storage, 'blobs'), { recursive: true });
  writeFileSync(blob, 'copied');
  const refuse = async (): Promise<void> => {
    throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
  };
  const p = pointerPath(c, COMMIT, 'vocab.txt');
  assert.equal(await linkPointer(blob, p, refuse), 'copy');
  assert.ok(lstatSync(p).isFile());
  assert.equal(readFileSync(p, 'utf8'), 'copied');
});
