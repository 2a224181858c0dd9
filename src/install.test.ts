// The install promise: the README's set-up commands are the whole set-up, CI runs them as written, the
// project's own files decide which install scripts run, and what ships needs no devDependency at run time.
// The packed tarball itself is installed and run in a new project by src/package.pack.test.ts (npm run test:pack).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
  allowScripts?: Record<string, boolean>;
  files: string[];
}
const pkg = JSON.parse(read('package.json')) as PackageJson;

/** The commands of the README's "Set up" block, comments dropped. */
export function readmeSetupCommands(readme: string): string[] {
  const section = readme.indexOf('\n## Set up\n');
  assert.ok(section >= 0, 'README.md has no "## Set up" section');
  const start = readme.indexOf('```sh\n', section);
  assert.ok(start >= 0 && start < readme.indexOf('\n## ', section + 1), 'the "Set up" section has no ```sh block');
  const block = readme.slice(start + 6, readme.indexOf('```', start + 6));
  return block
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

/** The lines of a shell script that are commands, comments and blank lines dropped. */
function scriptLines(script: string): string[] {
  return script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

test('the README sets up with npm ci and npm test and nothing else', () => {
  assert.deepEqual(readmeSetupCommands(read('README.md')), ['npm ci', 'npm test']);
});

test('.ci/run runs the README set-up commands as written, first, with no variable set', () => {
  const commands = readmeSetupCommands(read('README.md'));
  const lines = scriptLines(read('.ci/run'));
  // What may come before them: shell options and moving to the repository root.
  const first = lines.findIndex((line) => !/^set -[a-z]+( \w+)?$/.test(line) && !/^cd "\$\(dirname "\$0"\)\/\.\."$/.test(line));
  assert.deepEqual(lines.slice(first, first + commands.length), commands, '.ci/run must start with the README set-up block');
  for (const line of lines) {
    assert.ok(!/^(export\s+|env\s+|declare\s+-x\s+)?[A-Za-z_][A-Za-z0-9_]*=/.test(line), `.ci/run sets a variable a user would not: ${line}`);
    assert.ok(!/\benv\s+[A-Za-z_][A-Za-z0-9_]*=/.test(line), `.ci/run sets a variable a user would not: ${line}`);
  }
});

test('allowScripts reviews every dependency with an install script, and denies onnxruntime-node\'s download', () => {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = new Set<string>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (entry.hasInstallScript === true && path !== '') withScripts.add(path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  }
  const allow = pkg.allowScripts ?? {};
  // Name-only entries: the lockfile here records no `resolved` URLs, and npm matches pinned entries only against those.
  for (const name of Object.keys(allow)) assert.ok(!/.@/.test(name), `allowScripts entry ${name} is pinned; use the name alone`);
  assert.deepEqual([...withScripts].sort(), Object.keys(allow).sort(), 'allowScripts must list exactly the dependencies that have install scripts');
  assert.equal(allow['onnxruntime-node'], false, "onnxruntime-node's script downloads its CUDA provider: it must be denied");
  for (const native of ['better-sqlite3', 'usearch']) assert.equal(allow[native], true, `${native} builds or checks its native addon at install`);
  // npm 10 has no allowScripts: the project .npmrc makes onnxruntime-node's script exit before any download.
  const npmrc = scriptLines(read('.npmrc'));
  assert.ok(npmrc.includes('onnxruntime-node-install=skip'), '.npmrc must hold onnxruntime-node-install=skip for npm 10');
});

test('no npm script that npm test or the install runs calls npm again (each nested npm repeats its warnings)', () => {
  for (const name of ['test', 'prepare']) assert.ok(!/\bnpm\b/.test(pkg.scripts[name] ?? ''), `script ${name}: ${pkg.scripts[name]}`);
});

/** The bare module names a file imports (static and dynamic imports with a literal specifier). */
function bareImports(source: string): string[] {
  const out: string[] = [];
  const patterns = [/^\s*(?:import|export)\b[^;'"`]*?\bfrom\s*'([^'./][^']*)'/gm, /^\s*import\s+'([^'./][^']*)'/gm, /\bimport\(\s*'([^'./][^']*)'\s*\)/g];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) out.push(m[1] as string);
  return out;
}

const TSX_WHEN_RUN_FROM_SOURCE = new Set(['src/model/session-pool.ts', 'src/store/parallel-search.ts']);

function shippedSources(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'test-support' && name !== 'fixtures') shippedSources(p, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

test('the shipped code imports only node builtins and dependencies, never a devDependency', () => {
  const builtins = new Set(builtinModules);
  const deps = new Set(Object.keys(pkg.dependencies));
  const files = shippedSources(join(root, 'src'), []);
  assert.ok(files.length > 50, `found only ${files.length} source files`);
  const seen = new Set<string>();
  for (const file of files) {
    for (const spec of bareImports(readFileSync(file, 'utf8'))) {
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
      if (spec.startsWith('node:') || builtins.has(name)) continue;
      // tsx is loaded only when semsearch runs from its .ts sources (tests, npm run scripts), to start worker
      // threads on .ts modules; from dist these files start .js workers. src/package.pack.test.ts runs both from a
      // project without tsx.
      if (name === 'tsx' && TSX_WHEN_RUN_FROM_SOURCE.has(file.slice(root.length))) continue;
      assert.ok(deps.has(name), `${file.slice(root.length)} imports ${spec}, which is not in dependencies`);
      seen.add(name);
    }
  }
  for (const dep of ['onnxruntime-node', 'better-sqlite3', 'usearch']) assert.ok(seen.has(dep), `no shipped file imports ${dep}?`);
  assert.deepEqual(pkg.files.sort(), ['dist', 'src/server/page']);
});
