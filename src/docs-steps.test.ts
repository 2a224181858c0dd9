// What the docs tell a newcomer to type, checked against what the code accepts (issue 30): no paths of the machine
// the docs were written on, the scale-out walk-through's port, datasets, index precision and --url, and the cluster
// script's own --help. The cluster itself is not started here (npm run test:cluster runs against one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_HTTP_PORT } from '../scripts/opensearch.mjs';
import { listDatasets } from './cli/datasets.js';
import { runCaptured } from './cli/test-support/run-cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCS = ['README.md', ...readdirSync(`${ROOT}docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (f: string): string => readFileSync(`${ROOT}${f}`, 'utf8');

/** The shell blocks of a markdown file, with the line each starts on. */
function shellBlocks(text: string): { line: number; body: string }[] {
  const out: { line: number; body: string }[] = [];
  const re = /^```(?:bash|sh|shell)\n([\s\S]*?)^```/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push({ line: text.slice(0, m.index).split('\n').length, body: m[1] as string });
  return out;
}

/** A block's commands with their continuation lines joined, comments dropped. */
const commands = (body: string): string[] =>
  body
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

test('README.md and docs/*.md name no home-folder paths of the machine they were written on', () => {
  const found: string[] = [];
  for (const f of DOCS) {
    read(f)
      .split('\n')
      .forEach((l, i) => {
        if (/(^|[\s`'"(=:])\/(root|home)\//.test(l)) found.push(`${f}:${i + 1}: ${l.trim()}`);
      });
  }
  assert.deepEqual(found, []);
});

test('every --dataset the docs name is one eval knows', () => {
  const known = new Set(listDatasets().map((d) => d.name));
  const bad: string[] = [];
  for (const f of DOCS) for (const m of read(f).matchAll(/--dataset ([a-z][\w-]*)/g)) if (!known.has(m[1] as string)) bad.push(`${f}: --dataset ${m[1]}`);
  assert.deepEqual(bad, []);
});

test('the scale-out steps: the test cluster\'s port, an index push accepts, --url lists of nodes', () => {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Scale out'), readme.indexOf('\n## ', readme.indexOf('## Scale out') + 1));
  const steps = [...shellBlocks(section), ...shellBlocks(read('docs/SCALE-OUT.md'))].flatMap((b) => commands(b.body));
  assert.ok(steps.some((c) => c.startsWith('npm run cluster -- start')), 'the walk-through starts the test cluster');
  // Every loopback node address is one of the nodes npm run cluster starts (DEFAULT_HTTP_PORT + i).
  for (const c of steps) {
    for (const m of c.matchAll(/127\.0\.0\.1:(\d+)/g)) {
      const port = Number(m[1]);
      assert.ok(port === DEFAULT_HTTP_PORT || port === DEFAULT_HTTP_PORT + 1, `${c}: port ${port}, the test cluster listens on ${DEFAULT_HTTP_PORT}`);
    }
  }
  // Each index pushed is built in the same steps, in a precision push takes.
  const pushed = steps.filter((c) => /semsearch push /.test(c)).map((c) => /semsearch push (\S+)/.exec(c)?.[1] as string);
  assert.ok(pushed.length > 0);
  for (const dir of pushed) {
    const build = steps.find((c) => / semsearch index /.test(c) && new RegExp(`-o ${dir}( |$)`).test(c));
    assert.ok(build !== undefined, `the steps build ${dir} before pushing it`);
    assert.match(build, /--precision (float32|float16)\b/, `${dir} is float32 or float16: ${build}`);
  }
  assert.ok(steps.some((c) => /--url \S+,\S+/.test(c)), 'a step gives --url several nodes');
  for (const text of [section, read('docs/SCALE-OUT.md')]) assert.match(text, /`--url`[^.]*comma-separated/, 'the docs say --url takes a comma-separated list');
});

test('--url says in every command\'s --help that it takes several nodes, comma-separated', async () => {
  for (const command of ['push', 'search', 'eval', 'serve']) {
    const help = await runCaptured([command, '--help']);
    assert.equal(help.code, 0, command);
    const line = help.out.split('\n').find((l) => l.trim().startsWith('--url'));
    assert.match(line ?? '', /several nodes comma-separated/, `${command}: ${line}`);
  }
});

test('npm run cluster -- --help lists the commands and options, with the port; a wrong option prints it too', () => {
  const script = `${ROOT}scripts/opensearch.mjs`;
  const help = spawnSync(process.execPath, [script, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  for (const word of ['setup', 'start', 'stop', 'test', '--nodes', '--http-port', '--dir', '--heap', '--java-home']) assert.match(help.stdout, new RegExp(`^ +${word}\\b`, 'm'), word);
  assert.match(help.stdout, new RegExp(`default ${DEFAULT_HTTP_PORT}`));
  assert.equal(spawnSync(process.execPath, [script, 'help'], { encoding: 'utf8' }).stdout, help.stdout);
  const wrong = spawnSync(process.execPath, [script, 'start', '--bogus'], { encoding: 'utf8' });
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /Unknown option '--bogus'[\s\S]*usage: npm run cluster/);
});
