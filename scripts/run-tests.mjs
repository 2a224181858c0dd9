// Node 20's test runner cannot glob *.test.ts itself, so collect the files and hand them over.
// `npm test` runs every *.test.ts but the slow kinds: *.cluster.test.ts (npm run test:cluster, needs a JDK) and
// *.pack.test.ts (npm run test:pack: the packed tarball installed in a new project, minutes of native builds).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const SLOW_KINDS = ['.cluster.test.ts', '.pack.test.ts'];

function collect(dir, keep, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, keep, out);
    else if (keep(name)) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const pack = args.includes('--pack');
const filter = args.filter((a) => a !== '--pack');
const keep = pack
  ? (name) => name.endsWith('.pack.test.ts')
  : (name) => name.endsWith('.test.ts') && !SLOW_KINDS.some((kind) => name.endsWith(kind));
let files = collect('src', keep, []).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: process.env,
});
process.exit(r.status ?? 1);
