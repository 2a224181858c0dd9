// The README's "Add, delete, filter: a living index" section, run as written on a small index of the shared MS
// MARCO subset built with the test model (no hub here): its CLI commands in order, then its code example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAnnIndex } from './store/ann.js';
import { buildIndex } from './store/build-index.js';
import { docBlock } from './test-support/doc-blocks.js';
import { sharedFile, skipWithoutShared } from './test-support/files.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BERT = join(root, 'src/model/fixtures/models/bert');
const SUBSET = ['msmarco-passage-dl19-relevant-subset', 'collection.tsv'];

/** The section's CLI commands (block 0) and its code example (block 1). */
const block = (kind: 'sh' | 'ts'): string =>
  kind === 'sh' ? docBlock('README.md', 'Add, delete, filter: a living index', 0) : docBlock('README.md', 'Add, delete, filter: a living index', 1);

/** A command line split as sh splits it: single- and double-quoted words, no escapes. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? (m[3] as string));
}

/** Passage ids of `semsearch search`'s text output. */
function hitIds(out: string): string[] {
  return out
    .split('\n')
    .map((l) => /^\s+\d+\. \S+ {2}(\S+) /.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
}

test("the README's living-index commands and code work as written", { skip: skipWithoutShared(...SUBSET) }, async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'semsearch-readme-living-'));
  try {
    // The index of the section above, smaller: 300 passages, int8 with an i8 graph.
    const corpus = join(cwd, 'c.tsv');
    writeFileSync(corpus, readFileSync(sharedFile(...SUBSET), 'utf8').split('\n').slice(0, 300).join('\n') + '\n');
    await buildIndex({ corpus, out: join(cwd, 'dl19-index'), model: BERT, precision: 'int8' });
    await buildAnnIndex(join(cwd, 'dl19-index'), { threads: 1 });

    const lines = block('sh')
      .split('\n')
      .filter((l) => l.startsWith('npx semsearch'))
      .map((l) => l.replace(/\s+#.*$/, ''));
    assert.equal(lines.length, 6, lines.join('\n'));
    const out = lines.map((line) => {
      const argv = words(line)
        .slice(2)
        .map((w) => (w.startsWith('examples/') ? join(root, w) : w));
      return execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(root, 'src/cli/main.ts'), ...argv], { cwd, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    });
    assert.equal(out[0], 'committed generation 1 (add): 3 added; 303 documents\n');
    assert.deepEqual(hitIds(out[1] ?? '').sort(), ['goldfish-faq-1', 'goldfish-study-1'], 'year >= 2020');
    assert.deepEqual(hitIds(out[2] ?? '').sort(), ['goldfish-faq-1', 'goldfish-study-1'], 'source in faq, study');
    assert.equal(out[3], 'committed generation 2 (delete): 1 deleted; 302 documents\n');
    assert.equal(out[4], 'committed generation 3 (compact): 1 rows dropped; 302 documents\n');
    assert.match(out[5] ?? '', /^passages {3}302$/m);
    assert.match(out[5] ?? '', /^fields {5}title \(string\), year \(number\), source \(string\)$/m);

    // The code block is examples/living-index.ts, and it runs against the same index.
    const code = block('ts');
    assert.equal(code, readFileSync(join(root, 'examples/living-index.ts'), 'utf8'));
    const run = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', join(root, 'examples/living-index.ts')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, INDEX: join(cwd, 'dl19-index') },
    });
    assert.equal(run.status, 0, run.stderr);
    const printed = run.stdout.trim().split('\n');
    const recent = printed.filter((l) => /^-?\d+\.\d{3} /.test(l));
    assert.equal(recent.length, 3);
    for (const l of recent) assert.ok((JSON.parse(l.split(' ').slice(2).join(' ')) as { year: number }).year >= 2020, l);
    assert.ok(recent.some((l) => l.includes('goldfish-faq-2')) && recent.some((l) => l.includes('"year":2023,"source":"study"')), printed.join('\n'));
    const hybrid = printed.filter((l) => l.startsWith('hybrid ')).map((l) => l.slice(7));
    assert.equal(hybrid.length, 3);
    assert.ok(!hybrid.includes('goldfish-blog-1'));
    assert.equal(printed[printed.length - 1], '302 documents');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
