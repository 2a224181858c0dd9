// Docs are tested (issue 30): every sh/bash/ts/js block of README.md and docs/*.md either runs in a test, which the
// marker above it names (`<!-- runs-in: src/x.test.ts -->`) and which reads it with docBlock(file, heading, n), or
// says why it cannot run here (`<!-- not-run: reason -->`). The conventions are in src/test-support/doc-blocks.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { allDocBlocks, declaredBlocks, DOCS_ROOT, type DocBlockInfo } from './test-support/doc-blocks.js';

const where = (b: DocBlockInfo): string => `${b.file}:${b.line} (${b.lang}, "${b.heading}" #${b.index})`;

function testFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(DOCS_ROOT, dir))) {
    const p = `${dir}/${name}`;
    if (statSync(join(DOCS_ROOT, p)).isDirectory()) testFiles(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const blocks = allDocBlocks();

test('every shell and TypeScript block of the docs says where it runs or why it does not', () => {
  assert.ok(blocks.length >= 30, `found ${blocks.length} blocks`);
  const unmarked = blocks.filter((b) => b.marker.kind === 'none').map((b) => `${where(b)}: line above is ${JSON.stringify(b.marker.kind === 'none' ? b.marker.line : '')}`);
  assert.deepEqual(unmarked, [], 'put <!-- runs-in: src/….test.ts --> or <!-- not-run: reason --> on the line above each');
  for (const b of blocks) if (b.marker.kind === 'not-run') assert.ok(b.marker.reason.length >= 10, `${where(b)}: a not-run marker states its reason`);
});

test('each runs-in marker names a test file that reads that very block, and each block a test reads is marked to run there', () => {
  const problems: string[] = [];
  const sources = new Map<string, string>();
  const source = (f: string): string | undefined => {
    if (!sources.has(f) && existsSync(join(DOCS_ROOT, f))) sources.set(f, readFileSync(join(DOCS_ROOT, f), 'utf8'));
    return sources.get(f);
  };
  for (const b of blocks) {
    if (b.marker.kind !== 'runs-in') continue;
    assert.ok(b.marker.tests.length > 0, where(b));
    for (const t of b.marker.tests) {
      const src = source(t);
      if (src === undefined || !t.endsWith('.test.ts')) {
        problems.push(`${where(b)}: runs-in ${t}, which is not a test file here`);
        continue;
      }
      if (!declaredBlocks(src).some((d) => d.file === b.file && d.heading === b.heading && d.index === b.index)) {
        problems.push(`${where(b)}: ${t} has no docBlock(${JSON.stringify(b.file)}, ${JSON.stringify(b.heading)}, ${b.index})`);
      }
    }
  }
  // The other way round: a block a test reads exists and its marker names that test.
  for (const t of testFiles('src')) {
    const src = source(t) ?? '';
    for (const d of declaredBlocks(src)) {
      const b = blocks.find((x) => x.file === d.file && x.heading === d.heading && x.index === d.index);
      if (b === undefined) problems.push(`${t}: docBlock(${JSON.stringify(d.file)}, ${JSON.stringify(d.heading)}, ${d.index}) names no block`);
      else if (b.marker.kind !== 'runs-in' || !b.marker.tests.includes(t)) problems.push(`${where(b)}: read by ${t}, but its marker does not say runs-in ${t}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the counts: blocks per file, run and not run (by reason)', (t) => {
  const files = [...new Set(blocks.map((b) => b.file))];
  for (const f of files) {
    const mine = blocks.filter((b) => b.file === f);
    const run = mine.filter((b) => b.marker.kind === 'runs-in').length;
    const reasons = new Map<string, number>();
    for (const b of mine) if (b.marker.kind === 'not-run') reasons.set(b.marker.reason, (reasons.get(b.marker.reason) ?? 0) + 1);
    t.diagnostic(`${f}: ${mine.length} blocks, ${run} run, ${mine.length - run} not run${[...reasons].map(([r, n]) => `\n    ${n} × ${r}`).join('')}`);
  }
  const run = blocks.filter((b) => b.marker.kind === 'runs-in').length;
  t.diagnostic(`all: ${blocks.length} blocks, ${run} run, ${blocks.length - run} not run`);
  assert.ok(run > blocks.length / 2, 'most blocks run');
});
