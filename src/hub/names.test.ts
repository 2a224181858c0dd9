import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isCommitHash, parseModelRef, validateRevision } from './names.js';
import { isSemsearchError } from '../errors.js';

test('a bare name gets the sentence-transformers/ prefix, as SentenceTransformer(name) does', () => {
  assert.deepEqual(parseModelRef('msmarco-distilbert-dot-v5'), { kind: 'hub', repoId: 'sentence-transformers/msmarco-distilbert-dot-v5' });
  assert.deepEqual(parseModelRef('all-MiniLM-L6-v2'), { kind: 'hub', repoId: 'sentence-transformers/all-MiniLM-L6-v2' });
});

test('owner/name is used as is, and so are the original transformers checkpoints', () => {
  assert.deepEqual(parseModelRef('intfloat/e5-small-v2'), { kind: 'hub', repoId: 'intfloat/e5-small-v2' });
  assert.deepEqual(parseModelRef('bert-base-uncased'), { kind: 'hub', repoId: 'bert-base-uncased' });
  assert.deepEqual(parseModelRef('DistilBERT-base-uncased'), { kind: 'hub', repoId: 'DistilBERT-base-uncased' });
});

test('an existing folder is a local model, relative or absolute', () => {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-names-'));
  try {
    assert.deepEqual(parseModelRef(dir), { kind: 'local', dir });
    assert.deepEqual(parseModelRef(relative(process.cwd(), dir)), { kind: 'local', dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a path that does not exist is MODEL_NOT_FOUND, not a hub lookup', () => {
  for (const p of ['./models/missing', '/nope/model', 'a/b/c', '~/models/x']) {
    assert.throws(() => parseModelRef(p), (e) => isSemsearchError(e, 'MODEL_NOT_FOUND') && e.message.includes(p), p);
  }
});

test('names the hub would refuse, or that would escape the cache folder, are INVALID_ARGUMENT', () => {
  for (const n of ['', 'owner/na me', 'owner--x/name', 'a/..', 'owner/name-', '-x']) {
    assert.throws(() => parseModelRef(n), (e) => isSemsearchError(e) && (e.code === 'INVALID_ARGUMENT' || e.code === 'MODEL_NOT_FOUND'), n);
  }
});

test('revisions: branches, tags, refs/pr/N and commits pass; paths that escape refs/ do not', () => {
  assert.equal(validateRevision('main'), 'main');
  assert.equal(validateRevision('refs/pr/1'), 'refs/pr/1');
  for (const bad of ['', '../x', 'a/../../b', '/abs', 'x/']) {
    assert.throws(() => validateRevision(bad), (e) => isSemsearchError(e, 'INVALID_ARGUMENT'), bad);
  }
  assert.ok(isCommitHash('a'.repeat(40)));
  assert.ok(!isCommitHash('main'));
  assert.ok(!isCommitHash('A'.repeat(40)));
});
