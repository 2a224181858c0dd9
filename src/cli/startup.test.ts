import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMMANDS } from './commands/registry.js';

// `--version` and `--help` should cost little more than starting node (issue 30: within 1.5× its CPU time). CPU
// time is too noisy on a shared machine to assert, so this checks its cause instead: which modules a process loads.
// A resolve hook writes every module URL the CLI asks for to a file; the native bindings (each costs tens of
// milliseconds to load and initialise) and the library's heavy layers must not be among them.
const NATIVE = ['onnxruntime-node', 'better-sqlite3', 'usearch', '@opensearch-project'];
const HEAVY = ['/encoder/load-model.', '/store/search-index.', '/store/write-index.', '/store/build-index.', '/server/server.', '/eval/run-evaluation.'];

const MAIN = new URL('./main.ts', import.meta.url);

function loadedBy(argv: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'semsearch-startup-'));
  try {
    const log = join(dir, 'loaded.txt');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`,
    );
    const register = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`)}`;
    writeFileSync(log, '');
    execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--import', register, MAIN.pathname, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    return readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('`--version`, `--help` and every `<command> --help` load no native module and none of the heavy layers', () => {
  for (const argv of [['--version'], ['--help'], ...COMMANDS.map((c) => [c.name, '--help'])]) {
    const urls = loadedBy(argv);
    assert.ok(urls.length > 0, `${argv.join(' ')}: the hook recorded nothing`);
    for (const name of NATIVE) assert.ok(!urls.some((u) => u.includes(`/node_modules/${name}/`)), `${argv.join(' ')} loads ${name}`);
    for (const part of HEAVY) assert.ok(!urls.some((u) => u.includes(part)), `${argv.join(' ')} loads ${part}`);
  }
});

test('a command that runs does load what --help leaves out (the hook would see it)', () => {
  const urls = loadedBy(['doctor', '--json']);
  assert.ok(urls.some((u) => u.includes('/node_modules/onnxruntime-node/')), 'doctor loads ONNX Runtime');
});
