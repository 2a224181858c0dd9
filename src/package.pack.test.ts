// The package a user installs: `npm pack`, then a new project installs the tarball with the allowScripts block the
// README documents, and runs the CLI and the README quickstart from it. Slow (npm builds better-sqlite3 in the new
// project), so it is `npm run test:pack`, which .ci/run runs after npm test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dotScore, loadModel, semanticSearch } from './index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtureModel = join(root, 'src/model/fixtures/models/bert');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

/** The environment of a user's shell: none of the npm_* variables the npm running this test exported. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: userEnv(extra), encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} in ${cwd} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The first ```lang block after a heading of the README. */
function readmeBlock(heading: string, lang: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README.md has no "${heading}"`);
  const start = readme.indexOf('```' + lang + '\n', at) + lang.length + 4;
  return readme.slice(start, readme.indexOf('```', start));
}

test('the packed tarball installs in a new project with the README allowScripts and runs the CLI and the quickstart', { timeout: 900_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'semsearch-pack-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  const packed = run('npm', ['pack', '--json', '--pack-destination', work], root);
  const tarball = join(work, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
  assert.ok(existsSync(tarball), tarball);

  const project = join(work, 'consumer');
  mkdirSync(project);
  const dependencyPolicy = JSON.parse(readmeBlock('## Use semsearch in your project', 'json')) as { allowScripts: Record<string, boolean> };
  // npm matches a tarball's entry by its absolute source (the README says so), not by name.
  dependencyPolicy.allowScripts[`file:${tarball}`] = true;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', ...dependencyPolicy }, null, 2));

  // --prefer-offline: npm ci has just filled the cache with every tarball the dependencies need.
  const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
  const said = install.stdout + install.stderr;
  assert.doesNotMatch(said, /install-scripts|not yet covered|unreviewed/i, `npm install printed an install-script warning:\n${said}`);
  const modules = join(project, 'node_modules');
  assert.ok(existsSync(join(modules, 'semsearch/dist/cli/main.js')));
  for (const dev of Object.keys(pkg.devDependencies)) assert.ok(!existsSync(join(modules, dev)), `the new project got the devDependency ${dev}`);
  const ortBin = join(modules, 'onnxruntime-node/bin/napi-v6', `${process.platform}`, process.arch);
  assert.ok(existsSync(ortBin), ortBin);
  assert.deepEqual(readdirSync(ortBin).filter((f) => /cuda|tensorrt/i.test(f)), [], "onnxruntime-node's CUDA download ran");

  const cli = join(modules, '.bin/semsearch');
  assert.equal(run(cli, ['--version'], project).stdout.trim(), `semsearch ${pkg.version}`);

  const passages = [
    ['p1', 'London has 9,787,426 inhabitants at the 2011 census'],
    ['p2', 'London is known for its financial district'],
    ['p3', 'Goldfish grow to the size of their tank'],
    ['p4', 'The Thames flows through London'],
  ] as const;
  writeFileSync(join(project, 'corpus.tsv'), passages.map((p) => p.join('\t')).join('\n') + '\n');
  run(cli, ['index', 'corpus.tsv', '-m', fixtureModel, '-o', 'idx'], project);
  const found = JSON.parse(run(cli, ['search', 'idx', 'How big is London', '-k', '4', '--exact', '--json'], project).stdout) as {
    hits: { id: string; score: number }[];
  };

  const model = await loadModel(fixtureModel);
  try {
    const q = await model.encode(['How big is London']);
    const corpus = await model.encode(passages.map((p) => p[1]));
    const want = semanticSearch(q, corpus, { topK: 4, scoreFunction: (a, b) => model.similarity(a, b) })[0]!;
    assert.deepEqual(found.hits.map((h) => h.id), want.map((h) => passages[h.corpusId]![0]));
    found.hits.forEach((h, i) => assert.ok(Math.abs(h.score - want[i]!.score) < 1e-5, `${h.id}: ${h.score} vs ${want[i]!.score}`));

    // The README quickstart, as a user's own module importing 'semsearch'.
    writeFileSync(join(project, 'quickstart.mjs'), readmeBlock('## Quickstart', 'ts'));
    const printed = /Similarity: \[ ([-\d.e]+), ([-\d.e]+) \]/.exec(run('node', ['quickstart.mjs'], project, { MODEL: fixtureModel }).stdout);
    assert.ok(printed !== null);
    const scores = dotScore(q, corpus).row(0);
    assert.ok(Math.abs(Number(printed[1]) - (scores[0] as number)) < 1e-5);
    assert.ok(Math.abs(Number(printed[2]) - (scores[1] as number)) < 1e-5);
  } finally {
    await model.dispose();
  }
});
