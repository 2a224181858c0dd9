// Re-render docs/BENCHMARK.md's generated section from a results file, e.g. after changing the report's layout:
//   node --import tsx bench/render.ts bench/results/<date>.json [docs/BENCHMARK.md]
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { BenchResults } from './results.js';
import { evaluateTargets, printSummary, writeMarkdown } from './report.js';

const [jsonFile, mdFile = 'docs/BENCHMARK.md'] = process.argv.slice(2);
if (jsonFile === undefined) {
  console.error('usage: node --import tsx bench/render.ts RESULTS.json [BENCHMARK.md]');
  process.exit(2);
}
const results = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchResults;
results.targets = evaluateTargets(results);
writeMarkdown(results, mdFile, relative(dirname(resolve(mdFile)), resolve(jsonFile)));
printSummary(results, console.log);
