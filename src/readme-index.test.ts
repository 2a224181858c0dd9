// The README's "Index and search a corpus" commands, run as written: only the hub model name becomes the small test
// model of the fixtures (no hub here) and `npx semsearch` the CLI from source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docBlock } from './test-support/doc-blocks.js';
import { sharedFile, skipWithoutShared } from './test-support/files.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BERT = join(root, 'src/model/fixtures/models/bert');
const SUBSET = ['msmarco-passage-dl19-relevant-subset', 'collection.tsv'];
const CORPUS = sharedFile(...SUBSET);

/** The README's sh block of that section, continuation lines joined, comments dropped. */
function commands(): string[] {
  return docBlock('README.md', 'Index and search a corpus', 0)
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((l) => l.startsWith('npx semsearch'))
    .map((l) => l.replace(/\s+#.*$/, ''));
}

/** A command line split as sh would split this README's (double-quoted words, no escapes). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? (m[2] as string));
}

test("the README's index, search and info commands work as written and find the answer to its demo query", { skip: skipWithoutShared(...SUBSET) }, () => {
  const cmds = commands();
  assert.ok(cmds.length >= 3, cmds.join('\n'));
  const cwd = mkdtempSync(join(tmpdir(), 'semsearch-readme-'));
  try {
    const outputs: string[] = [];
    for (const line of cmds) {
      const argv = words(line)
        .slice(2)
        .map((w) => (w === 'msmarco-MiniLM-L6-cos-v5' ? BERT : w.startsWith('../shared/') ? join(root, w) : w));
      // The interactive search reads queries from stdin: give it one and end.
      const input = argv.length === 2 && argv[0] === 'search' ? 'do goldfish grow\n' : '';
      outputs.push(execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(root, 'src/cli/main.ts'), ...argv], { cwd, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }));
    }
    const all = outputs.join('\n');
    assert.match(all, /complete: 4103 passages/);
    assert.match(all, /HNSW graph \(i8/);
    const search = outputs[cmds.findIndex((c) => c.includes('"do goldfish grow" -k 5'))] ?? '';
    assert.equal(search.split('\n').filter((l) => /^\s+\d\. /.test(l)).length, 5, search);
    assert.match(all, /^passages {3}4103$/m);
    // The demo query is a DL19 topic with passages judged relevant in this very corpus.
    const dir = sharedFile('msmarco-passage-dl19-relevant-subset');
    const qid = readFileSync(join(dir, 'queries.tsv'), 'utf8').split('\n').find((l) => l.endsWith('\tdo goldfish grow'))?.split('\t')[0];
    assert.ok(qid !== undefined, 'a DL19 query');
    const pids = new Set(readFileSync(CORPUS, 'utf8').split('\n').map((l) => l.split('\t')[0]));
    // NIST's graded judgments: grade 2 and 3 are relevant for MS MARCO's binary measures.
    const graded = sharedFile('msmarco-passage-topics-qrels', 'qrels.dl19-passage.txt');
    const relevant = readFileSync(graded, 'utf8').split('\n').map((l) => l.split(/\s+/)).filter((f) => f[0] === qid && Number(f[3]) >= 2 && pids.has(f[2]));
    assert.ok(relevant.length >= 100, `${relevant.length} passages of grade 2 or 3 for the demo query in the corpus`);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
