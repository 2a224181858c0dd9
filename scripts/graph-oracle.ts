// The differential test of built graphs, long run: tools/reference/make_graph_configs.py draws many random configs
// (seeded) into a temp folder with the reference venv's Python, then every one is built and held to torch (see
// src/model/graph/test-support/oracle.ts). Usage:
//   npm run graph-oracle -- [--per-family 20] [--seed 1] [--python ~/venvs/ref/bin/python] [--dir DIR] [--keep]
// --dir checks a folder the generator already wrote (nothing is generated); --keep leaves the generated folder.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkConfig, describeSettings, readOracleManifest, type OracleResult } from '../src/model/graph/test-support/oracle.js';

const { values } = parseArgs({
  options: {
    'per-family': { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
    python: { type: 'string', default: join(homedir(), 'venvs', 'ref', 'bin', 'python') },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const generated = values.dir === undefined;
const root = values.dir ?? mkdtempSync(join(tmpdir(), 'semsearch-graph-oracle-'));
const cache = mkdtempSync(join(tmpdir(), 'semsearch-graph-oracle-cache-'));
process.env['SEMSEARCH_BUILD_CACHE'] = cache;
try {
  if (generated) {
    const script = fileURLToPath(new URL('../tools/reference/make_graph_configs.py', import.meta.url));
    console.log(`generating ${values['per-family']} configs per family and kind, seed ${values.seed}, into ${root}`);
    const g = spawnSync(values.python, ['-W', 'ignore', script, '--out', root, '--seed', values.seed, '--per-family', values['per-family']], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, HF_HUB_OFFLINE: '1' },
    });
    if (g.status !== 0) throw new Error(`make_graph_configs.py exited with ${g.status ?? g.signal}`);
  }
  const manifest = readOracleManifest(root);
  const results: OracleResult[] = [];
  for (const c of manifest.configs) {
    const r = await checkConfig(root, manifest, c);
    results.push(r);
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${c.name} ${r.detail}${r.ok ? '' : `\n     ${describeSettings(c)}`}`);
  }
  const groups = new Map<string, OracleResult[]>();
  for (const r of results) groups.set(`${r.kind}-${r.family}`, [...(groups.get(`${r.kind}-${r.family}`) ?? []), r]);
  console.log(`\nseed ${manifest.seed}, ${manifest.per_family} per family and kind:`);
  for (const [k, rs] of groups) {
    const matched = rs.filter((r) => r.expect === 'match');
    const worst = Math.max(0, ...matched.map((r) => r.maxDiff ?? 0));
    console.log(`${k}: ${rs.length} configs (${matched.length} to match, ${rs.length - matched.length} to refuse), ${rs.filter((r) => !r.ok).length} failed, worst match |diff| ${worst.toExponential(2)}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed}/${results.length} configs passed`);
  process.exitCode = failed > 0 ? 1 : 0;
} finally {
  rmSync(cache, { recursive: true, force: true });
  if (generated && !values.keep) rmSync(root, { recursive: true, force: true });
  else console.log(`configs kept in ${root}`);
}
